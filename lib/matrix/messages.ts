import { createHash } from 'node:crypto';
import { sleepMs } from '../http/retry';
import type { MatrixClient } from './client';
import { EncryptedRoomError, encryptedSenderFor } from './crypto';
import { isEventId, isValidUserId } from './ids';
import { withRetries } from './retrying';
import { authError, failureIsAuth, resolveRoom, type RoomProblem } from './rooms';

/** Matrix caps events at 65,536 bytes; leave room for the envelope. */
export const MAX_MESSAGE_BYTES = 60_000;

/**
 * A transaction id derived from what identifies one logical message (e.g. execution id, node,
 * item index). Retrying the same message reuses it, so the homeserver answers with the event it
 * already created instead of posting twice (reference §2.8).
 */
export function txnIdFor(...parts: Array<string | number>): string {
	const digest = createHash('sha256').update(parts.map(String).join('\u0000')).digest('base64url');
	return `n8n.${digest.slice(0, 32)}`;
}

export interface NoticeInput {
	room: string;
	/** Plain text body (always sent; clients without HTML support show it). */
	text: string;
	html?: string;
	/** Event to reply to (e.g. the command that asked). */
	replyTo?: string;
	/**
	 * The thread `replyTo` belongs to (its root event). The reply then stays in that thread. For
	 * sendNotice, undefined means "find out from the replied-to event"; null means "no thread".
	 */
	threadRoot?: string | null;
	msgtype?: 'm.notice' | 'm.text';
	/**
	 * Users the message deliberately addresses (`m.mentions.user_ids`). Nobody else is pinged, however
	 * the text or HTML looks: without it the message mentions no one (see buildNoticeContent).
	 */
	mentions?: readonly string[];
}

export interface SendFailure {
	status: 'notPermitted' | 'gaveUp' | 'invalidInput';
	reason: string;
	roomId?: string;
	txnId: string;
}

export type SendResult =
	{ status: 'sent'; roomId: string; eventId: string; txnId: string } | SendFailure;

/** Minimal HTML → text for when only HTML was given (tags dropped, common entities decoded). */
export function htmlToPlain(html: string): string {
	return html
		.replace(/<br\s*\/?>/gi, '\n')
		.replace(/<\/(p|div|li|h\d)>/gi, '\n')
		.replace(/<[^>]*>/g, '')
		.replace(/&nbsp;/g, ' ')
		.replace(/&lt;/g, '<')
		.replace(/&gt;/g, '>')
		.replace(/&quot;/g, '"')
		.replace(/&#39;/g, "'")
		.replace(/&amp;/g, '&')
		.replace(/\n{3,}/g, '\n\n')
		.trim();
}

export function buildNoticeContent(input: NoticeInput): Record<string, unknown> {
	const text = String(input.text ?? '');
	const html = input.html === undefined || input.html === '' ? undefined : String(input.html);
	const content: Record<string, unknown> = {
		msgtype: input.msgtype ?? 'm.notice',
		body: text || (html ? htmlToPlain(html) : ''),
	};
	if (html) {
		content.format = 'org.matrix.custom.html';
		content.formatted_body = html;
	}
	if (input.replyTo && input.threadRoot) {
		// Spec v1.11 "Threading": a message in a thread relates to the thread root with
		// rel_type m.thread; `m.in_reply_to` with is_falling_back: true is the fallback that shows
		// clients without thread support which message is answered (the command), while threaded
		// clients keep the reply in the thread instead of rendering a quote.
		content['m.relates_to'] = {
			rel_type: 'm.thread',
			event_id: input.threadRoot,
			is_falling_back: true,
			'm.in_reply_to': { event_id: input.replyTo },
		};
	} else if (input.replyTo) content['m.relates_to'] = { 'm.in_reply_to': { event_id: input.replyTo } };
	// Intentional mentions (spec v1.11, client-server API "User and room mentions"): with
	// `m.mentions` present, clients and push rules notify only the users listed (and the room only
	// for `room: true`), no longer whoever's name or ID appears in the body. An empty object
	// therefore guarantees that a templated text quoting a display name, an ID or "@room" pings
	// nobody. Never `room: true`.
	const userIds = [...new Set((input.mentions ?? []).filter(isValidUserId))];
	content['m.mentions'] = userIds.length ? { user_ids: userIds } : {};
	return content;
}

/** The thread root named by an event's content (`m.relates_to` with rel_type m.thread), if any. */
export function threadRootOf(content: unknown): string | undefined {
	const relation = (content as { 'm.relates_to'?: unknown } | undefined)?.['m.relates_to'];
	if (!relation || typeof relation !== 'object') return undefined;
	const { rel_type: type, event_id: root } = relation as { rel_type?: unknown; event_id?: unknown };
	return type === 'm.thread' && typeof root === 'string' && isEventId(root) ? root : undefined;
}

export async function sendNotice(
	client: MatrixClient,
	input: NoticeInput,
	options: {
		txnId: string;
		budgetMs?: number;
		roomCache?: Map<string, { roomId?: string; problem?: RoomProblem }>;
		/** The thread (or null: none) of each replied-to event already read, by room and event. */
		threadCache?: Map<string, string | null>;
		/**
		 * Look at the room's encryption first (one GET per room, cached here): an encrypted room's
		 * message goes through the bot's crypto device in this process (crypto.ts), or fails with
		 * EncryptedRoomError — never as plaintext. Matrix Invite's message operation always passes it.
		 */
		encryptionCache?: Map<string, boolean>;
		now?: () => number;
		sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
		signal?: AbortSignal;
	},
): Promise<SendResult> {
	const { txnId } = options;
	let content = buildNoticeContent(input);
	if (!content.body) return { status: 'invalidInput', reason: 'emptyMessage', txnId };
	if (Buffer.byteLength(JSON.stringify(content), 'utf8') > MAX_MESSAGE_BYTES)
		return { status: 'invalidInput', reason: 'messageTooLarge', txnId };
	if (input.replyTo !== undefined && input.replyTo !== '' && !isEventId(String(input.replyTo)))
		return { status: 'invalidInput', reason: 'invalidReplyTo', txnId };
	const now = options.now ?? Date.now;
	// 429s (after the server's retry_after_ms), 5xx and network failures are all retried until the
	// budget is spent, not a fixed number of times: a notice is one idempotent PUT (same txn id).
	const retry = {
		deadline: now() + (options.budgetMs ?? 120_000),
		maxRetries: Number.POSITIVE_INFINITY,
		now,
		sleep: options.sleep ?? sleepMs,
		signal: options.signal,
	};
	const room = await resolveRoom(client, input.room, retry, options.roomCache);
	if (!room.roomId) {
		const problem = room.problem ?? 'invalidRoom';
		return {
			status:
				problem === 'homeserverUnreachable' || problem === 'homeserverError'
					? 'gaveUp'
					: 'notPermitted',
			reason: problem,
			txnId,
		};
	}
	const roomId = room.roomId;
	if (input.replyTo && input.threadRoot === undefined) {
		// A reply to a message in a thread must stay in that thread: the replied-to event says which
		// one (templates pass only the command's event ID). When it cannot be read (gone, not
		// visible, homeserver trouble past the budget), the reply is sent as a plain reply.
		const key = `${roomId}\u0000${input.replyTo}`;
		let threadRoot = options.threadCache?.get(key);
		if (threadRoot === undefined) {
			const replied = await withRetries(() => client.event(roomId, input.replyTo!), retry);
			if (!replied.ok && failureIsAuth(replied)) throw authError(replied);
			threadRoot = (replied.ok ? threadRootOf(replied.value?.content) : undefined) ?? null;
			// Only answers are remembered: a transient failure may read the event next time.
			if (replied.ok) options.threadCache?.set(key, threadRoot);
		}
		content = buildNoticeContent({ ...input, threadRoot });
	}
	if (options.encryptionCache) {
		const encrypted = await isEncrypted(client, roomId, retry, options.encryptionCache);
		if (encrypted === undefined) return { status: 'gaveUp', reason: 'homeserverUnreachable', roomId, txnId };
		if (encrypted) return sendEncrypted(client, roomId, content, txnId, retry);
	}
	const sent = await withRetries(
		() => client.send(roomId, 'm.room.message', txnId, content),
		retry,
	);
	if (sent.ok && typeof sent.value?.event_id === 'string')
		return { status: 'sent', roomId, eventId: sent.value.event_id, txnId };
	if (!sent.ok && failureIsAuth(sent)) throw authError(sent);
	if (!sent.ok && sent.kind === 'http' && sent.status === 403)
		return { status: 'notPermitted', reason: 'forbidden', roomId, txnId };
	if (!sent.ok && sent.kind === 'http' && sent.status === 429)
		return { status: 'gaveUp', reason: 'rateLimited', roomId, txnId };
	if (!sent.ok && sent.kind === 'network')
		return { status: 'gaveUp', reason: 'homeserverUnreachable', roomId, txnId };
	return {
		status: 'gaveUp',
		reason: sent.ok ? 'unexpectedAnswer' : `http${sent.status}`,
		roomId,
		txnId,
	};
}

/**
 * Whether the room is encrypted (its m.room.encryption state event; 404: not). A 403 (the bot
 * cannot read the room's state: not a member) counts as not encrypted — the send itself is then
 * refused the same way. undefined when the homeserver did not answer within the budget.
 */
async function isEncrypted(
	client: MatrixClient,
	roomId: string,
	retry: Parameters<typeof withRetries>[1],
	cache: Map<string, boolean>,
): Promise<boolean | undefined> {
	const known = cache.get(roomId);
	if (known !== undefined) return known;
	const state = await withRetries(
		() => client.request<Record<string, unknown>>('GET', ['rooms', roomId, 'state', 'm.room.encryption', '']),
		retry,
	);
	if (!state.ok && failureIsAuth(state)) throw authError(state);
	let encrypted: boolean | undefined;
	if (state.ok) encrypted = typeof state.value?.algorithm === 'string';
	else if (state.kind === 'http' && (state.status === 404 || state.status === 403)) encrypted = false;
	if (encrypted !== undefined) cache.set(roomId, encrypted);
	return encrypted;
}

/** Through the crypto device of this bot's Matrix Command Trigger in this process, if any. */
async function sendEncrypted(
	client: MatrixClient,
	roomId: string,
	content: Record<string, unknown>,
	txnId: string,
	retry: Parameters<typeof withRetries>[1],
): Promise<SendResult> {
	const me = await withRetries(() => client.whoami(), retry);
	if (!me.ok && failureIsAuth(me)) throw authError(me);
	if (!me.ok || typeof me.value?.user_id !== 'string') return { status: 'gaveUp', reason: 'homeserverUnreachable', roomId, txnId };
	const sender = encryptedSenderFor(client.homeserverUrl, me.value.user_id);
	if (!sender)
		throw new EncryptedRoomError(
			'The room is end-to-end encrypted and no Matrix Command Trigger of this bot runs with encryption in this n8n process (in queue mode, workers have none): the message was not sent',
		);
	const now = retry.now ?? Date.now;
	for (let attempt = 0; ; attempt++) {
		try {
			const sent = await sender.sendEncrypted(roomId, content, txnId);
			return { status: 'sent', roomId, eventId: sent.eventId, txnId };
		} catch (error) {
			// eslint-disable-next-line @n8n/community-nodes/require-node-api-error -- lib has no node: the trigger and runError() map it (CONTRIBUTING.md)
			if (error instanceof EncryptedRoomError) throw error;
			// The SDK's request failed (429/5xx/network): again with the same transaction ID.
			const wait = 1000 * 2 ** Math.min(attempt, 4);
			if (now() + wait > retry.deadline)
				return { status: 'gaveUp', reason: 'encryptedSendFailed', roomId, txnId };
			await (retry.sleep ?? sleepMs)(wait, retry.signal);
		}
	}
}
