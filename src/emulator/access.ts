// Who may use the emulator. Its admin API can point webhooks anywhere (SSRF) and its inbox shows
// OTP texts, so by default only loopback clients are answered; `token` mode also lets others in
// with a shared secret. Decided by the socket's peer address, never by X-Forwarded-For.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERRORS } from '../core/errors.js';
import { isLoopback } from '../core/net.js';
import { DEFAULT_AUTH_TOKEN } from './defaults.js';
import type { EmulatorAccess } from './types.js';
import { rawHeader, sendJson } from './util.js';

/** What a request asks for: the inbox pages, the admin API, or the Twilio REST paths. */
export type AccessKind = 'page' | 'api' | 'twilio';

export const MIN_ACCESS_TOKEN_LENGTH = 24;

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export class AccessGate {
  private readonly tokenDigest: Buffer | null;

  constructor(
    readonly access: EmulatorAccess,
    /** The Twilio auth token: when it is the published default, Basic auth proves nothing. */
    private readonly authToken: string,
  ) {
    if (access.mode !== 'loopback' && access.mode !== 'token') throw new Error("access.mode must be 'loopback' or 'token'");
    if (access.mode === 'token' && !(typeof access.token === 'string' && access.token.length >= MIN_ACCESS_TOKEN_LENGTH)) {
      throw new Error(`access.token must be at least ${MIN_ACCESS_TOKEN_LENGTH} characters`);
    }
    this.tokenDigest = access.mode === 'token' ? digest(access.token!) : null;
  }

  /** One line for start-up logs. */
  describe(): string {
    return this.access.mode === 'token' ? 'emulator: open to the network with token' : 'emulator: loopback clients only';
  }

  /** True when the request may proceed; otherwise the refusal has been answered. */
  admit(req: IncomingMessage, res: ServerResponse, kind: AccessKind): boolean {
    if (isLoopback(req.socket.remoteAddress)) return true;
    if (this.tokenDigest === null) {
      refuse(res, 'SMS_ERR_EMULATOR_LOOPBACK_ONLY');
      return false;
    }
    if (kind === 'twilio') {
      // Twilio clients authenticate with Basic AC…:authToken (checked next); the published default
      // token would let anyone in.
      if (this.authToken !== DEFAULT_AUTH_TOKEN) return true;
      refuse(
        res,
        'SMS_ERR_EMULATOR_LOOPBACK_ONLY',
        'The emulator answers Twilio API requests from other hosts only when its auth token is not the published default.',
      );
      return false;
    }
    if (this.presented(rawHeader(req, 'authorization'))) return true;
    // The pages ask the browser for Basic auth (any user name, the token as password); the
    // page's own API calls then carry the same credentials.
    refuse(res, 'SMS_ERR_EMULATOR_TOKEN_REQUIRED', undefined, {
      'www-authenticate': kind === 'page' ? 'Basic realm="smsrelay emulator", charset="UTF-8"' : 'Bearer realm="smsrelay emulator"',
    });
    return false;
  }

  /** `Bearer <token>` or Basic auth with the token as password, compared in constant time. */
  private presented(header: string | undefined): boolean {
    if (!header) return false;
    let candidate: string | null = null;
    if (/^bearer /i.test(header)) candidate = header.slice(7).trim();
    else if (/^basic /i.test(header)) {
      const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      candidate = colon === -1 ? null : decoded.slice(colon + 1);
    }
    return candidate !== null && timingSafeEqual(digest(candidate), this.tokenDigest!);
  }
}

function refuse(
  res: ServerResponse,
  code: 'SMS_ERR_EMULATOR_LOOPBACK_ONLY' | 'SMS_ERR_EMULATOR_TOKEN_REQUIRED',
  message?: string,
  headers?: Record<string, string>,
): void {
  const def = ERRORS[code];
  sendJson(res, def.status, { error: { code, message: message ?? def.message } }, headers);
}
