import { randomBytes } from 'node:crypto';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = Record<string, any>;

export interface TeamPermissions {
	canViewOrders: boolean;
	canChangeOrders: boolean;
	canChangeOrganizerSettings: boolean;
}

export interface TeamToken {
	token: string;
	organizer: string;
	/** The team's event scope: every event of the organizer, or only `limitEvents`. */
	allEvents: boolean;
	limitEvents: string[];
	permissions: TeamPermissions;
	active: boolean;
}

export interface OAuthClient {
	clientId: string;
	clientSecret: string;
	/** Registered redirect URIs (exact match, like django-oauth-toolkit). */
	redirectUris: string[];
}

export interface OAuthAccessToken {
	token: string;
	refreshToken: string;
	clientId: string;
	scope: string[];
	organizers: string[];
	expiresAtUs: number;
}

export interface OAuthRefreshToken {
	token: string;
	clientId: string;
	scope: string[];
	organizers: string[];
	/** The access token currently paired with this refresh token. */
	accessToken?: string;
	revoked: boolean;
}

export interface OAuthGrant {
	code: string;
	clientId: string;
	redirectUri: string | undefined;
	scope: string[];
	organizers: string[];
	expiresAtUs: number;
	used: boolean;
}

export interface FakeWebhook {
	id: number;
	enabled: boolean;
	target_url: string;
	all_events: boolean;
	limit_events: string[];
	action_types: string[];
	comment: string | null;
}

/** Core action types a webhook may subscribe to (src/pretix/api/webhooks.py), used to validate the webhook API. */
export const WEBHOOK_ACTION_TYPES = [
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
	'pretix.event.added',
	'pretix.event.changed',
	'pretix.event.deleted',
	'pretix.event.live.activated',
	'pretix.event.live.deactivated',
	'pretix.event.testmode.activated',
	'pretix.event.testmode.deactivated',
	'pretix.subevent.added',
	'pretix.subevent.changed',
	'pretix.subevent.deleted',
	'pretix.event.item.*',
	'pretix.event.orders.waitinglist.added',
	'pretix.event.orders.waitinglist.changed',
	'pretix.event.orders.waitinglist.deleted',
	'pretix.event.orders.waitinglist.voucher_assigned',
	'pretix.voucher.added',
	'pretix.voucher.changed',
	'pretix.voucher.deleted',
	'pretix.customer.created',
	'pretix.customer.changed',
	'pretix.customer.anonymized',
];

/**
 * Whether a webhook subscribed to `subscribed` receives `action`: exact name first, then
 * successively shorter `prefix.*` patterns (LogEntry.webhook_type).
 */
export function actionMatches(subscribed: string[], action: string): boolean {
	if (subscribed.includes(action)) return true;
	const parts = action.split('.');
	for (let i = parts.length - 1; i > 0; i--) {
		if (subscribed.includes(`${parts.slice(0, i).join('.')}.*`)) return true;
	}
	return false;
}

/** Microseconds since the epoch from an ISO 8601 string (keeps pretix's microsecond precision). */
export function isoToUs(iso: string): number | undefined {
	const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(iso.trim());
	if (!m) return undefined;
	const [, date, hh, mm, ss = '00', frac = '', zone = 'Z'] = m;
	const ms = Date.parse(`${date}T${hh}:${mm}:${ss}${zone === 'Z' ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone}`);
	if (Number.isNaN(ms)) return undefined;
	return ms * 1000 + Number(frac.padEnd(6, '0'));
}

/** DRF's rendering of an aware UTC datetime: isoformat with microseconds, `+00:00` → `Z`. */
export function usToIso(us: number): string {
	const ms = Math.floor(us / 1000);
	const micro = us - ms * 1000;
	const base = new Date(ms).toISOString(); // …T08:00:00.512Z
	return `${base.slice(0, 23)}${String(micro).padStart(3, '0')}Z`;
}

/** A clock in microseconds that runs with real time and can be set or advanced by tests. */
export class FakeClock {
	private offsetUs = 0;
	private readonly startUs = Date.now() * 1000;
	private readonly startHr = process.hrtime.bigint();

	/** Monotonic, microsecond resolution (like the microseconds in pretix timestamps). */
	nowUs(): number {
		return this.startUs + Number((process.hrtime.bigint() - this.startHr) / 1000n) + this.offsetUs;
	}

	nowIso(): string {
		return usToIso(this.nowUs());
	}

	set(iso: string): void {
		const target = isoToUs(iso);
		if (target === undefined) throw new Error(`not an ISO datetime: ${iso}`);
		this.offsetUs += target - this.nowUs();
	}

	advance(ms: number): void {
		this.offsetUs += Math.round(ms * 1000);
	}
}

export function randomToken(length = 64): string {
	const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
	const bytes = randomBytes(length);
	let out = '';
	for (let i = 0; i < length; i++) out += alphabet[bytes[i] % alphabet.length];
	return out;
}

/** Deterministic PRNG (mulberry32) so generated data and random faults repeat with a seed. */
export function seededRandom(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}
