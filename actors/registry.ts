/**
 * The registry of live session actors. It starts each actor from the machine the server
 * provided (with its side effects), watches its snapshots and reports typed changes.
 * Listener errors are caught and reported, never thrown into the actor.
 */
import { createActor } from 'xstate';
import { diffSessions, type SessionChange, type SessionPhase, type SessionView } from './changes.ts';
import type { SessionActor, SessionEvent, SessionInput, SessionMachine, SessionSnapshot } from './session-machine.ts';
import { SESSION_RECORD_VERSION, type SessionRecord } from './types.ts';

export interface RegistryListener {
  /** Called after every snapshot that changed something, with the changes in order. */
  onChange(sessionId: string, changes: SessionChange[], view: SessionView): void;
  /** A listener or the actor itself threw; the registry keeps going. */
  onError(sessionId: string, error: unknown): void;
}

/** The phase a snapshot is in (the transient `starting` counts as live). */
export function phaseOf(snapshot: SessionSnapshot): SessionPhase {
  if (snapshot.status === 'done' || snapshot.value === 'ended') return 'ended';
  return snapshot.value === 'ending' ? 'ending' : 'live';
}

export function viewOf(snapshot: SessionSnapshot): SessionView {
  return { phase: phaseOf(snapshot), context: snapshot.context };
}

/** The plain record a session store keeps for `view`. */
export function toRecord(view: SessionView): SessionRecord {
  const { config: _config, ...data } = view.context;
  return { version: SESSION_RECORD_VERSION, ...data, closed: view.phase === 'ended' };
}

interface Entry {
  actor: SessionActor;
  view: SessionView;
  unsubscribe: () => void;
}

export class SessionRegistry {
  readonly #logic: SessionMachine;
  readonly #listener: RegistryListener;
  readonly #entries = new Map<string, Entry>();
  #closed = false;

  constructor(logic: SessionMachine, listener: RegistryListener) {
    this.#logic = logic;
    this.#listener = listener;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Starts a session actor. Throws if one with the same id is already registered. */
  start(input: SessionInput): SessionView {
    if (this.#closed) throw new Error('SessionRegistry is closed');
    if (this.#entries.has(input.sessionId)) throw new Error(`session ${input.sessionId} is already registered`);
    const actor = createActor(this.#logic, { input });
    const entry: Entry = { actor, view: viewOf(actor.getSnapshot()), unsubscribe: () => {} };
    this.#entries.set(input.sessionId, entry);
    const report = (snapshot: SessionSnapshot): void => {
      const view = viewOf(snapshot);
      const changes = diffSessions(entry.view, view);
      entry.view = view;
      if (changes.length === 0) return;
      try {
        this.#listener.onChange(input.sessionId, changes, view);
      } catch (error) {
        this.#listener.onError(input.sessionId, error);
      }
    };
    const subscription = actor.subscribe({
      next: report,
      error: (error) => this.#listener.onError(input.sessionId, error),
    });
    entry.unsubscribe = () => subscription.unsubscribe();
    actor.start();
    // The first snapshot is reported as a whole (every chunk, the playlist, the phase).
    const first = viewOf(actor.getSnapshot());
    entry.view = first;
    try {
      this.#listener.onChange(input.sessionId, diffSessions(undefined, first), first);
    } catch (error) {
      this.#listener.onError(input.sessionId, error);
    }
    return first;
  }

  has(sessionId: string): boolean {
    return this.#entries.has(sessionId);
  }

  /** The latest view of a session, or undefined if it is not registered. */
  view(sessionId: string): SessionView | undefined {
    return this.#entries.get(sessionId)?.view;
  }

  views(): SessionView[] {
    return [...this.#entries.values()].map((e) => e.view);
  }

  /** Sends an event to a session; returns false when the session is not registered. */
  send(sessionId: string, event: SessionEvent): boolean {
    const entry = this.#entries.get(sessionId);
    if (!entry) return false;
    if (entry.view.phase !== 'ended') entry.actor.send(event);
    return true;
  }

  /** Stops and forgets one session (its last view stays wherever the listener put it). */
  remove(sessionId: string): void {
    const entry = this.#entries.get(sessionId);
    if (!entry) return;
    this.#entries.delete(sessionId);
    entry.unsubscribe();
    entry.actor.stop();
  }

  /** Stops every actor (in-flight processing is aborted; it restarts from the store). Safe twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#entries.keys()]) this.remove(id);
  }
}
