// The operator's test send: one message with the tenant's current configuration through the
// normal send path, followed until a final status (or a time limit), explained in plain words.
import { isMessageStatus, isTerminal } from '../core/status.js';
import { twilioHint } from '../core/twilio-hints.js';
import type { Clock } from '../ports.js';
import type { MessageResource } from './message-resource.js';
import type { MessagesService } from './messages.js';
import type { Tenant } from './tenants.js';

export interface TestSendResult {
  ok: boolean;
  message_id: string;
  provider_sid: string | null;
  status: string;
  error_code: string | null;
  provider_code: number | null;
  hint: string | null;
}

export interface TestSendDeps {
  messages: Pick<MessagesService, 'send' | 'get'>;
  clock: Clock;
  /** How long to wait for a final status (15 s). */
  timeoutMs: number;
  pollMs?: number;
}

export const TEST_SEND_BODY = 'smsrelay test message: your SMS configuration works.';

export class TestSendService {
  constructor(private readonly d: TestSendDeps) {}

  async run(tenant: Tenant, input: { to: string; body?: string | null }): Promise<TestSendResult> {
    const sent = await this.d.messages.send(tenant, { to: input.to, body: input.body ?? TEST_SEND_BODY, metadata: { test_send: true } });
    let m: MessageResource = sent.message;
    const deadline = this.d.clock.now().getTime() + this.d.timeoutMs;
    while (!(isMessageStatus(m.status) && isTerminal(m.status)) && this.d.clock.now().getTime() < deadline) {
      await new Promise((r) => setTimeout(r, this.d.pollMs ?? 100));
      m = await this.d.messages.get(tenant, m.id);
    }
    const final = isMessageStatus(m.status) && isTerminal(m.status);
    const ok = m.status === 'delivered' || m.status === 'read';
    return {
      ok,
      message_id: m.id,
      provider_sid: m.provider_sid,
      status: m.status,
      error_code: m.error_code,
      provider_code: m.provider_code,
      hint: ok
        ? null
        : (twilioHint(m.provider_code) ??
          (final
            ? (m.error_message ?? null)
            : `No final status within ${Math.round(this.d.timeoutMs / 1000)} s (still '${m.status}'): the provider may not report delivery (status callbacks need SMSRELAY_PUBLIC_URL), or the worker is not running.`)),
    };
  }
}
