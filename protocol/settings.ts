/**
 * The stereo settings' ranges and their validation, shared by the server (create request, socket
 * message) and the pages (sliders), so both refuse the same things with the same words.
 */
import type { StereoSettingsWire } from './messages.ts';

export const SETTING_RANGES: Record<keyof StereoSettingsWire, { min: number; max: number; step: number }> = {
  stereo_strength: { min: 0, max: 0.1, step: 0.001 },
  convergence: { min: 0, max: 1, step: 0.01 },
};

export type SettingsCheck = { ok: true; settings: Partial<StereoSettingsWire> } | { ok: false; field: string; message: string };

/** Picks the settings present in `input` and checks each is a number in its range. Unknown keys are ignored. */
export function checkSettings(input: Record<string, unknown>): SettingsCheck {
  const settings: Partial<StereoSettingsWire> = {};
  for (const field of Object.keys(SETTING_RANGES) as (keyof StereoSettingsWire)[]) {
    const value = input[field];
    if (value === undefined) continue;
    const { min, max } = SETTING_RANGES[field];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      return { ok: false, field, message: `${field} must be a number from ${min} to ${max}` };
    }
    settings[field] = value;
  }
  return { ok: true, settings };
}
