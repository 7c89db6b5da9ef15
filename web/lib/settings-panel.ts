/**
 * The depth controls shared by the player and the capture page: stereo strength and convergence
 * sliders, and the output format, that change the session's settings live over its socket. Changing them needs the session's
 * control token (the capture page has it; the player gets it from the link the capture page shows,
 * `#control=…`, or pasted in). Every subscriber hears the change (`settings` message), so two open
 * pages agree. Later chunks use it: the picture changes a segment or two after the slider.
 */
import { STEREO_MODES, type StereoMode } from '../../protocol/layout.ts';
import type { ServerMessage, SetSettingsMessage, StereoSettingsWire } from '../../protocol/messages.ts';
import { SETTING_RANGES } from '../../protocol/settings.ts';
import { el, socketBase } from './dom.ts';
import { JsonSocket } from './json-socket.ts';

export class SettingsPanel {
  readonly element: HTMLElement;
  readonly #sessionId: string;
  readonly #inputs = new Map<keyof StereoSettingsWire, { input: HTMLInputElement; value: HTMLElement }>();
  readonly #note: HTMLElement;
  readonly #unlock: HTMLElement;
  readonly #mode: HTMLSelectElement;
  #socket: JsonSocket<ServerMessage, SetSettingsMessage> | null = null;

  constructor(sessionId: string, token: string | null) {
    this.#sessionId = sessionId;
    this.#note = el('span', { class: 'dim', id: 'settings-note' });
    const sliders = (Object.keys(SETTING_RANGES) as (keyof StereoSettingsWire)[]).map((field) => {
      const range = SETTING_RANGES[field];
      const input = el('input', {
        type: 'range',
        id: `setting-${field}`,
        min: range.min,
        max: range.max,
        step: range.step,
        disabled: true,
      });
      const value = el('span', { class: 'num' });
      input.addEventListener('input', () => (value.textContent = Number(input.value).toFixed(field === 'convergence' ? 2 : 3)));
      input.addEventListener('change', () => this.#send({ [field]: Number(input.value) }));
      this.#inputs.set(field, { input, value });
      return el(
        'label',
        {
          class: 'slider',
          title:
            field === 'convergence'
              ? '0: everything comes out of the screen · 1: everything goes behind it'
              : 'largest disparity, as a share of the picture width',
        },
        field === 'stereo_strength' ? 'strength' : 'convergence',
        input,
        value,
      );
    });
    this.#mode = el(
      'select',
      {
        id: 'setting-mode',
        disabled: true,
        title: 'the output format: a new one starts with the next segment (players see a discontinuity)',
      },
      ...STEREO_MODES.map((mode) => el('option', { value: mode }, mode)),
    );
    this.#mode.addEventListener('change', () => this.#send({ mode: this.#mode.value as StereoMode }));
    const tokenInput = el('input', { type: 'password', placeholder: 'control token', id: 'control-token', size: 24 });
    this.#unlock = el(
      'span',
      { class: 'row' },
      tokenInput,
      el('button', { type: 'button', onclick: () => tokenInput.value && this.#connect(tokenInput.value.trim()) }, 'unlock'),
    );
    this.element = el(
      'div',
      { class: 'panel row', id: 'settings' },
      el('strong', {}, 'Depth'),
      ...sliders,
      el('label', { class: 'field' }, 'format', this.#mode),
      this.#unlock,
      this.#note,
    );
    if (token) this.#connect(token);
    else this.#note.textContent = 'changing depth needs the control token';
  }

  /** The session's current settings (a snapshot or a `settings` message from any socket), and its format when known. */
  update(settings: StereoSettingsWire, mode?: StereoMode): void {
    if (mode && document.activeElement !== this.#mode) this.#mode.value = mode;
    for (const [field, { input, value }] of this.#inputs) {
      if (document.activeElement === input) continue; // do not pull the slider from under the pointer
      input.value = String(settings[field]);
      value.textContent = settings[field].toFixed(field === 'convergence' ? 2 : 3);
    }
  }

  /** The session has ended: its recording keeps the settings it had, nothing to unlock. */
  ended(): void {
    this.#socket?.close();
    this.#unlock.hidden = true;
    this.#enable(false, 'the session has ended: its recording plays with the settings it had');
  }

  close(): void {
    this.#socket?.close();
  }

  #connect(token: string): void {
    this.#socket?.close();
    const url = `${socketBase()}/ws/sessions/${encodeURIComponent(this.#sessionId)}?format=json`;
    this.#note.textContent = 'connecting…';
    this.#socket = new JsonSocket<ServerMessage, SetSettingsMessage>(
      url,
      {
        message: (message) => {
          if (message.type === 'snapshot') this.update(message.session.settings, message.session.mode);
          else if (message.type === 'settings') {
            this.update(message, message.mode);
            this.#note.textContent = 'applies to the next segments';
          } else if (message.type === 'error') this.#note.textContent = message.message;
          else if (message.type === 'ended') this.#enable(false, 'the session has ended');
        },
        state: (state, detail) => {
          if (state === 'open') {
            this.#unlock.hidden = true;
            this.#enable(true, '');
          } else if (state === 'offline') this.#enable(false, 'connection lost — retrying');
          else if (state === 'closed' && detail.code === 1006) {
            // The upgrade checks the token: a refusal before the first open is almost always the token.
            this.#unlock.hidden = false;
            this.#enable(false, 'refused: is the control token right for this session?');
          } else if (state === 'closed' && detail.code !== undefined) this.#enable(false, detail.reason || 'closed');
        },
      },
      { giveUpBeforeOpen: true, token },
    );
  }

  #enable(on: boolean, note: string): void {
    for (const { input } of this.#inputs.values()) input.disabled = !on;
    this.#mode.disabled = !on;
    this.#note.textContent = note;
  }

  #send(settings: Partial<StereoSettingsWire> & { mode?: StereoMode }): void {
    if (!this.#socket?.send({ type: 'set_settings', ...settings })) this.#note.textContent = 'not connected: the change was not sent';
    else this.#note.textContent = 'sent…';
  }
}
