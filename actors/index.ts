export * from './types.ts';
export * from './chunks.ts';
export * from './playlist.ts';
export * from './timeline.ts';
export * from './changes.ts';
export * from './session-machine.ts';
export * from './registry.ts';
export * from './validate.ts';
