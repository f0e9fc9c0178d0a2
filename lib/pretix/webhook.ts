/**
 * pretix webhook bodies: `{notification_id, organizer, event, code, action}` (plus check-in fields).
 * pretix does not sign them, so validation is about shape and size only; the order is re-read
 * through the API when it matters.
 */
export interface PretixWebhookPayload {
	notification_id: number;
	organizer: string;
	event?: string;
	code?: string;
	action: string;
	[key: string]: unknown;
}

export type WebhookValidation = { ok: true; payload: PretixWebhookPayload } | { ok: false; reason: string };

/** pretix's payloads are ~150 bytes; anything near this is not from pretix. */
export const MAX_WEBHOOK_BODY_BYTES = 16 * 1024;

export const DEFAULT_TRIGGER_ACTIONS = [
	'pretix.event.order.placed',
	'pretix.event.order.paid',
	'pretix.event.order.approved',
	'pretix.event.order.modified',
	'pretix.event.order.changed.*',
	'pretix.event.order.canceled',
	'pretix.event.order.expired',
	'pretix.event.order.reactivated',
];

/** Order action types pretix core registers (`changed.*` stands for the whole family). */
export const ORDER_ACTIONS = [
	'pretix.event.order.placed',
	'pretix.event.order.placed.require_approval',
	'pretix.event.order.paid',
	'pretix.event.order.canceled',
	'pretix.event.order.reactivated',
	'pretix.event.order.expired',
	'pretix.event.order.expirychanged',
	'pretix.event.order.modified',
	'pretix.event.order.contact.changed',
	'pretix.event.order.changed.*',
	'pretix.event.order.refund.created',
	'pretix.event.order.refund.created.externally',
	'pretix.event.order.refund.requested',
	'pretix.event.order.refund.done',
	'pretix.event.order.refund.canceled',
	'pretix.event.order.refund.failed',
	'pretix.event.order.payment.confirmed',
	'pretix.event.order.approved',
	'pretix.event.order.denied',
	'pretix.event.order.deleted',
	'pretix.event.checkin',
	'pretix.event.checkin.reverted',
];

const ACTION = /^pretix(\.[a-z0-9_]+)+$/;
const SLUG = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const CODE = /^[A-Za-z0-9]{1,32}$/;

export type ActionFamily = 'order' | 'checkin' | 'event' | 'subevent' | 'item' | 'waitinglist' | 'voucher' | 'customer' | 'other';

export function actionFamily(action: string): ActionFamily {
	if (action.startsWith('pretix.event.checkin')) return 'checkin';
	if (action.startsWith('pretix.event.order.')) return 'order';
	if (action.startsWith('pretix.event.orders.waitinglist.')) return 'waitinglist';
	if (action.startsWith('pretix.event.item.')) return 'item';
	if (action.startsWith('pretix.subevent.')) return 'subevent';
	if (action.startsWith('pretix.voucher.')) return 'voucher';
	if (action.startsWith('pretix.customer.')) return 'customer';
	if (action.startsWith('pretix.event.')) return 'event';
	return 'other';
}

/** pretix's subscription matching: exact name, then successively shorter `prefix.*` patterns. */
export function actionMatches(filter: readonly string[], action: string): boolean {
	if (filter.includes(action)) return true;
	const parts = action.split('.');
	for (let i = parts.length - 1; i > 0; i--) if (filter.includes(`${parts.slice(0, i).join('.')}.*`)) return true;
	return false;
}

/** Validates a parsed body. Reasons name the field, never the value received. */
export function validateWebhookPayload(body: unknown): WebhookValidation {
	if (!body || typeof body !== 'object' || Array.isArray(body)) return { ok: false, reason: 'The body must be a JSON object.' };
	const b = body as Record<string, unknown>;
	if (typeof b.notification_id !== 'number' || !Number.isSafeInteger(b.notification_id) || b.notification_id < 0) {
		return { ok: false, reason: 'Field "notification_id" must be a non-negative integer.' };
	}
	if (typeof b.action !== 'string' || b.action.length > 200 || !ACTION.test(b.action)) return { ok: false, reason: 'Field "action" must be a pretix action type such as "pretix.event.order.paid".' };
	if (typeof b.organizer !== 'string' || !SLUG.test(b.organizer)) return { ok: false, reason: 'Field "organizer" must be an organizer slug.' };
	const family = actionFamily(b.action);
	const needsEvent = family !== 'customer' && family !== 'other';
	if (b.event !== undefined || needsEvent) {
		if (typeof b.event !== 'string' || !SLUG.test(b.event)) return { ok: false, reason: 'Field "event" must be an event slug.' };
	}
	if (b.code !== undefined || family === 'order' || family === 'checkin') {
		if (typeof b.code !== 'string' || !CODE.test(b.code)) return { ok: false, reason: 'Field "code" must be an order code.' };
	}
	return { ok: true, payload: b as PretixWebhookPayload };
}

/** Parses and validates a raw body (string or Buffer) with a size limit. */
export function parseWebhookBody(raw: string | Buffer | undefined | null): WebhookValidation {
	if (raw === undefined || raw === null) return { ok: false, reason: 'The request has no body.' };
	const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length;
	if (size === 0) return { ok: false, reason: 'The request has no body.' };
	if (size > MAX_WEBHOOK_BODY_BYTES) return { ok: false, reason: `The body is larger than ${MAX_WEBHOOK_BODY_BYTES} bytes; pretix never sends that much.` };
	let parsed: unknown;
	try {
		parsed = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
	} catch {
		return { ok: false, reason: 'The body is not valid JSON.' };
	}
	return validateWebhookPayload(parsed);
}
