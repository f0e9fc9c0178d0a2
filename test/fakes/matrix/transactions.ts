import type { FakeClock } from './clock';

type Json = Record<string, unknown>;

/** Whose retries count as the same transaction. */
export type TransactionScope = 'accessToken' | 'device';

export interface TxnSession {
	userId: string;
	deviceId: string;
	token: string;
}

const HTTP_CACHE_MS = 30 * 60_000;
const EVENT_TXN_MS = 24 * 60 * 60_000;

/**
 * Synapse's two layers of transaction-ID idempotency for `PUT …/send/{type}/{txnId}`:
 *
 * 1. `HttpTransactionCache` (synapse/rest/client/transactions.py): the answer to a request, keyed
 *    by the request path and, in 1.67, the access token (`path + "/" + token`; since MSC3970 in
 *    HEAD: path + user + device). Only answers that were not errors are kept (a 429 is not
 *    cached). Entries are dropped by a cleanup every 30 minutes, so they live 30–60 minutes; here
 *    exactly 30.
 * 2. `event_txn_id` (storage events_worker.py `get_event_id_from_transaction_id`): the event a
 *    transaction created in a room, keyed by room, sender, access token (HEAD: device) and txn ID,
 *    kept 24 hours (`_cleanup_old_transaction_ids`). It answers the same event ID for the same
 *    txn ID in the same room even on another path.
 *
 * So a new access token (a fresh login, even on the same device) is a new transaction space in
 * 1.67: the same txn ID posts again.
 */
export class TransactionCache {
	private readonly answers = new Map<string, { body: Json; at: number }>();
	private readonly events = new Map<string, { eventId: string; at: number }>();

	constructor(
		private readonly clock: FakeClock,
		public scope: TransactionScope = 'accessToken',
	) {}

	private who(session: TxnSession): string {
		return this.scope === 'accessToken'
			? `token\u0000${session.token}`
			: `device\u0000${session.userId}\u0000${session.deviceId}`;
	}

	answer(path: string, session: TxnSession): Json | undefined {
		const key = `${path}\u0000${this.who(session)}`;
		const found = this.answers.get(key);
		if (!found) return undefined;
		if (this.clock.now() - found.at > HTTP_CACHE_MS) {
			this.answers.delete(key);
			return undefined;
		}
		return found.body;
	}

	rememberAnswer(path: string, session: TxnSession, body: Json): void {
		this.answers.set(`${path}\u0000${this.who(session)}`, { body, at: this.clock.now() });
	}

	eventFor(roomId: string, session: TxnSession, txnId: string): string | undefined {
		const key = `${roomId}\u0000${session.userId}\u0000${this.who(session)}\u0000${txnId}`;
		const found = this.events.get(key);
		if (!found) return undefined;
		if (this.clock.now() - found.at > EVENT_TXN_MS) {
			this.events.delete(key);
			return undefined;
		}
		return found.eventId;
	}

	rememberEvent(roomId: string, session: TxnSession, txnId: string, eventId: string): void {
		const key = `${roomId}\u0000${session.userId}\u0000${this.who(session)}\u0000${txnId}`;
		this.events.set(key, { eventId, at: this.clock.now() });
	}

	/** Whether an event sent by `sender` is echoed with its transaction ID to `viewer` in /sync. */
	sameTransactionSpace(sender: TxnSession, viewer: TxnSession): boolean {
		return this.who(sender) === this.who(viewer);
	}
}
