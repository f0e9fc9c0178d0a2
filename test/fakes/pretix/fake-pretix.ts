import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorFixture, FIXTURE_INSTANCE, readFixture, rebase } from './fixtures';
import { generateOrders, type GenerateOrdersOptions, type GeneratedOrders } from './generator';
import { redirectUriAllowed, type HttpRedirectPolicy } from './oauth';
import { filterOrders, ORDER_ORDERING, parseBool, QueryError, renderOrder } from './orders';
import { pageLink, pageRequest, resolveOrdering, slicePage, sortItems, type OrderingSpec } from './paging';
import {
	actionMatches,
	FakeClock,
	randomToken,
	seededRandom,
	WEBHOOK_ACTION_TYPES,
	type FakeWebhook,
	type Json,
	type OAuthAccessToken,
	type OAuthClient,
	type OAuthGrant,
	type OAuthRefreshToken,
	type TeamPermissions,
	type TeamToken,
} from './state';
import { filterSubEvents, subEventResource, SUBEVENT_ORDERING } from './subevents';
import { WebhookSender, type WebhookDelivery, type WebhookSenderOptions } from './webhook-sender';

/** Team token of `exampleorg` with access to all events and every permission. */
export const FAKE_TEAM_TOKEN = 'fk7team0exampleorg0all0events0h3k9v2m8q4w7z1x5c6b0n2r8t4y6u1i3o';
/** Team token of `exampleorg` limited to event `meetups26` (so `summit26` is 403). */
export const FAKE_TEAM_TOKEN_OTHER_EVENT = 'fk7team0exampleorg0meetups0only0p4s8d2f6g0h3j7k1l5z9x3c7v1b5n9';
/** Team token of `exampleorg` whose team may not view orders. */
export const FAKE_TEAM_TOKEN_NO_ORDERS = 'fk7team0exampleorg0no0orders0a1s2d3f4g5h6j7k8l9q0w1e2r3t4y5u6i';
/** Team token of `sampleevents` (a different organizer, custom domain). */
export const FAKE_TEAM_TOKEN_SAMPLEEVENTS = 'fk7team0sampleevents0all0m1n2b3v4c5x6z7l8k9j0h1g2f3d4s5a6p7o8i';
/** A team token that exists but was deactivated. */
export const FAKE_TEAM_TOKEN_INACTIVE = 'fk7team0inactive0q9w8e7r6t5y4u3i2o1p0a9s8d7f6g5h4j3k2l1z0x9c8v7';

export const FAKE_OAUTH_CLIENT: OAuthClient = {
	clientId: 'fakeClientId0n8nPretixMatrix',
	clientSecret: 'fakeClientSecret0d8s7a6f5g4h3j2k1l0',
	redirectUris: ['https://bridge.example.org/oauth/callback'],
};
/**
 * The callback of an n8n on the test machine. A production pretix cannot register it (http); the
 * fake adds it to FAKE_OAUTH_CLIENT only with `allowHttpRedirectUris: 'localhost'` (or `true`).
 */
export const FAKE_OAUTH_LOCAL_REDIRECT_URI = 'http://localhost:5678/rest/oauth2-credential/callback';

const ALL_PERMISSIONS: TeamPermissions = { canViewOrders: true, canChangeOrders: true, canChangeOrganizerSettings: true };
const OAUTH_SCOPES = ['profile', 'read', 'write'];
const MAX_BODY_BYTES = 1024 * 1024;

export interface RandomFaults {
	/** Probability (0..1) that an API call answers 500/502/503. */
	rate5xx?: number;
	/** Probability that an API call answers 429. */
	rate429?: number;
	/** Probability that an API call answers 200 with a non-JSON body. */
	garbageRate?: number;
	/** Added latency per API call: fixed ms or [min, max]. */
	latencyMs?: number | [number, number];
	/** Retry-After (seconds) sent with random 429s. Default 1. */
	retryAfterS?: number;
	seed?: number;
}

export interface ScriptedFault {
	/** status: answer `status` (429/409 carry Retry-After); garbage: 200 HTML; truncated: 200 cut JSON; reset: drop the socket; hang: wait `delayMs` then answer normally. */
	kind?: 'status' | 'garbage' | 'truncated' | 'reset' | 'hang';
	status?: number;
	retryAfter?: number | string;
	/** Applies only to requests whose path (+query) contains this string / matches this RegExp. */
	match?: string | RegExp;
	/** How many matching requests get the fault. Default 1. */
	times?: number;
	delayMs?: number;
}

export interface RequestLogEntry {
	at: number;
	method: string;
	path: string;
	query: Record<string, string[]>;
	/** Raw query string (without `?`), as sent. */
	search: string;
	auth: 'token' | 'bearer' | 'basic' | 'none' | 'other';
	status: number;
	fault?: string;
}

/** What a list response contained, for `betweenPages` hooks. */
export interface ServedPage {
	path: string;
	query: URLSearchParams;
	/** DRF page number of this response. */
	page: number;
	/** `count` of the response (the whole filtered set at that moment). */
	count: number;
	/** The rendered results of this page. */
	results: Json[];
}

export interface FakePretixOptions {
	port?: number;
	/** Load the fixtures (organizers, events, questions, 15 orders). Default true. */
	seed?: boolean;
	fixturesDir?: string;
	/** Replace the seeded team tokens. */
	teamTokens?: Array<Partial<TeamToken> & { token: string; organizer: string }>;
	oauthClients?: OAuthClient[];
	/** Organizers the fake pretix user (behind OAuth) is a member of. Default: all. */
	oauthUserOrganizers?: string[];
	/** What the user does on the consent screen. Default: approve, all their organizers. */
	consent?: { approve: boolean; organizers?: string[] };
	/**
	 * pretix allows http redirect URIs only in DEBUG mode (ALLOWED_REDIRECT_URI_SCHEMES). Default
	 * false: https only, like production. `'localhost'` (test-only) also allows http to loopback
	 * hosts and registers FAKE_OAUTH_LOCAL_REDIRECT_URI; `true` is a DEBUG pretix (any http).
	 */
	allowHttpRedirectUris?: HttpRedirectPolicy;
	accessTokenLifetimeS?: number;
	faults?: RandomFaults;
	/** pretix.eu-like limit per organizer and minute; off by default (self-hosted has none). */
	rateLimit?: { perMinute: number; retryAfterS?: number };
	/** Retry-After seconds on 409 lock errors. Default 5 (pretix). */
	lockRetryAfterS?: number;
	webhooks?: WebhookSenderOptions;
	/** Orders generated into an event at start. */
	generate?: Omit<GenerateOrdersOptions, 'baseUrl' | 'template'>;
}

interface Principal {
	kind: 'team' | 'oauth';
	team?: TeamToken;
	oauth?: OAuthAccessToken;
}

class HttpError {
	constructor(
		readonly status: number,
		readonly body: unknown,
		readonly headers: Record<string, string> = {},
	) {}
}

function errorBody(name: string, dir?: string): Json {
	return errorFixture(name, dir);
}

function eventKey(organizer: string, event: string): string {
	return `${organizer}/${event}`;
}

export class FakePretix {
	url = '';
	readonly clock = new FakeClock();
	readonly organizers = new Map<string, Json>();
	/** organizer → event slug → event detail object (with `valid_keys`). */
	readonly events = new Map<string, Map<string, Json>>();
	readonly questions = new Map<string, Json[]>();
	readonly orders = new Map<string, Json[]>();
	/** organizer/event → the dates of an event series (SubEventSerializer objects). */
	readonly subevents = new Map<string, Json[]>();
	readonly webhooks = new Map<string, FakeWebhook[]>();
	readonly teamTokens = new Map<string, TeamToken>();
	readonly oauthClients = new Map<string, OAuthClient>();
	readonly accessTokens = new Map<string, OAuthAccessToken>();
	readonly refreshTokens = new Map<string, OAuthRefreshToken>();
	readonly grants = new Map<string, OAuthGrant>();
	readonly requests: RequestLogEntry[] = [];
	readonly sender: WebhookSender;
	oauthUserOrganizers: string[] | undefined;
	consent: { approve: boolean; organizers?: string[] };
	randomFaults: RandomFaults | undefined;
	rateLimit: { perMinute: number; retryAfterS?: number } | undefined;
	private scripted: Array<ScriptedFault & { remaining: number }> = [];
	private random: () => number;
	private nextWebhookId = 13;
	private nextNotificationId = 50_000_000;
	private rateWindows = new Map<string, number[]>();
	private server?: http.Server;
	/** Database primary keys of orders (never rendered): pretix's orderings end with `-pk`. */
	private readonly pks = new WeakMap<Json, number>();
	private nextPk = 1;
	private nextSubEventId = 100;
	private nextFeeId = 800000;
	private nextPositionId = 950000;
	private pageHooks: Array<{ after: number; seen: number; match?: string | RegExp; fn: (served: ServedPage) => void | Promise<void> }> = [];

	constructor(readonly options: FakePretixOptions = {}) {
		this.sender = new WebhookSender(options.webhooks);
		this.oauthUserOrganizers = options.oauthUserOrganizers;
		this.consent = options.consent ?? { approve: true };
		this.randomFaults = options.faults;
		this.rateLimit = options.rateLimit;
		this.random = seededRandom(options.faults?.seed ?? 42);
	}

	// ---------------------------------------------------------------- seeding

	seedFromFixtures(): void {
		const dir = this.options.fixturesDir;
		const load = <T>(name: string): T => rebase(readFixture<T>(name, dir), FIXTURE_INSTANCE, this.url);
		for (const organizer of load<Json>('organizers.json').results as Json[]) this.organizers.set(organizer.slug, organizer);
		const detail = load<Json>('event.json');
		for (const event of load<Json>('events-list.json').results as Json[]) {
			this.addEvent('exampleorg', event.slug === detail.slug ? detail : { ...event, valid_keys: { pretix_sig1: [] } });
		}
		// Not in the fixtures: an event of the custom-domain organizer, so custom-domain URLs resolve.
		this.addEvent('sampleevents', {
			...structuredClone(detail),
			name: { en: 'Sample Conference 2026' },
			slug: 'conf26',
			public_url: 'https://tickets.example.net/conf26/',
		});
		this.questions.set(eventKey('exampleorg', 'summit26'), load<Json>('questions.json').results as Json[]);
		const orders = [...(load<Json>('orders-page-1.json').results as Json[]), ...(load<Json>('orders-page-2.json').results as Json[])];
		for (const order of orders) this.pkOf(order);
		this.orders.set(eventKey('exampleorg', 'summit26'), orders);
		// Not in the fixtures: three dates of the series `meetups26` (date_to null on the last one,
		// as a series date may leave it open). No orders reference them unless a test adds some.
		this.addSubEvent('exampleorg', 'meetups26', { id: 41, name: { en: 'Meetup January' }, date_from: '2026-01-15T17:00:00Z', date_to: '2026-01-15T20:00:00Z' });
		this.addSubEvent('exampleorg', 'meetups26', { id: 42, name: { en: 'Meetup March' }, date_from: '2026-03-19T17:00:00Z', date_to: '2026-03-19T20:00:00Z' });
		this.addSubEvent('exampleorg', 'meetups26', { id: 43, name: { en: 'Meetup June' }, date_from: '2026-06-18T17:00:00Z', date_to: null });
		const hooks = readFixture<Json>('webhooks/webhook-resource-list.json', dir).results as FakeWebhook[];
		// The fixture webhook targets bridge.example.org, which is unreachable here: keep it, disabled.
		this.webhooks.set('exampleorg', hooks.map((hook) => ({ ...hook, enabled: false })));
		const token = readFixture<Json>('oauth/token-response.json', dir);
		this.addAccessToken({
			token: token.access_token,
			refreshToken: token.refresh_token,
			clientId: FAKE_OAUTH_CLIENT.clientId,
			scope: String(token.scope).split(' '),
			organizers: ['exampleorg', 'sampleevents'],
			expiresAtUs: this.clock.nowUs() + token.expires_in * 1_000_000,
		});
	}

	seedCredentials(): void {
		const tokens = this.options.teamTokens ?? [
			{ token: FAKE_TEAM_TOKEN, organizer: 'exampleorg' },
			{ token: FAKE_TEAM_TOKEN_OTHER_EVENT, organizer: 'exampleorg', allEvents: false, limitEvents: ['meetups26'] },
			{ token: FAKE_TEAM_TOKEN_NO_ORDERS, organizer: 'exampleorg', permissions: { canViewOrders: false, canChangeOrders: false, canChangeOrganizerSettings: false } },
			{ token: FAKE_TEAM_TOKEN_SAMPLEEVENTS, organizer: 'sampleevents' },
			{ token: FAKE_TEAM_TOKEN_INACTIVE, organizer: 'exampleorg', active: false },
		];
		for (const token of tokens) this.addTeamToken(token);
		const policy = this.options.allowHttpRedirectUris ?? false;
		const defaults = structuredClone(FAKE_OAUTH_CLIENT);
		if (redirectUriAllowed(FAKE_OAUTH_LOCAL_REDIRECT_URI, policy)) defaults.redirectUris.push(FAKE_OAUTH_LOCAL_REDIRECT_URI);
		for (const client of this.options.oauthClients ?? [defaults]) {
			// The application form validates every redirect URI against ALLOWED_REDIRECT_URI_SCHEMES.
			for (const uri of client.redirectUris) this.assertRedirectUri(uri);
			this.oauthClients.set(client.clientId, structuredClone(client));
		}
	}

	addTeamToken(token: Partial<TeamToken> & { token: string; organizer: string }): TeamToken {
		const full: TeamToken = {
			allEvents: true,
			limitEvents: [],
			permissions: ALL_PERMISSIONS,
			active: true,
			...token,
		};
		this.teamTokens.set(full.token, full);
		return full;
	}

	addOrganizer(organizer: { slug: string; name?: string; public_url?: string }): Json {
		const full = { name: organizer.slug, public_url: `${this.url}/${organizer.slug}/`, ...organizer };
		this.organizers.set(full.slug, full);
		return full;
	}

	addEvent(organizer: string, event: Json): Json {
		if (!this.events.has(organizer)) this.events.set(organizer, new Map());
		const full: Json = { public_url: `${this.url}/${organizer}/${event.slug}/`, ...event };
		this.events.get(organizer)!.set(full.slug, full);
		if (!this.orders.has(eventKey(organizer, full.slug))) this.orders.set(eventKey(organizer, full.slug), []);
		return full;
	}

	/**
	 * Adds a date to an event series (the event gets `has_subevents: true`). Fields not given take
	 * pretix's defaults (active, public, no date_to); returns the stored SubEventSerializer object.
	 */
	addSubEvent(organizer: string, event: string, input: Json & { date_from: string; id?: number }): Json {
		const parent = this.events.get(organizer)?.get(event);
		if (!parent) throw new Error(`fake pretix: no event ${organizer}/${event}`);
		parent.has_subevents = true;
		const id = input.id ?? this.nextSubEventId++;
		if (id >= this.nextSubEventId) this.nextSubEventId = id + 1;
		const key = eventKey(organizer, event);
		if (!this.subevents.has(key)) this.subevents.set(key, []);
		const list = this.subevents.get(key)!;
		if (list.some((s) => s.id === id)) throw new Error(`fake pretix: sub-event ${id} exists`);
		const full = subEventResource(event, { ...input, id }, this.clock.nowIso());
		list.push(full);
		return full;
	}

	subEventsOf(organizer: string, event: string): Json[] {
		return this.subevents.get(eventKey(organizer, event)) ?? [];
	}

	/** Changes a sub-event like the API's PATCH: fields, then `last_modified` = now. */
	updateSubEvent(organizer: string, event: string, id: number, changes: Json): Json {
		const found = this.subEventsOf(organizer, event).find((s) => s.id === id);
		if (!found) throw new Error(`fake pretix: no sub-event ${id} in ${organizer}/${event}`);
		Object.assign(found, changes, { id, event, last_modified: this.clock.nowIso() });
		return found;
	}

	ordersOf(organizer = 'exampleorg', event = 'summit26'): Json[] {
		const key = eventKey(organizer, event);
		if (!this.orders.has(key)) this.orders.set(key, []);
		return this.orders.get(key)!;
	}

	findOrder(code: string, organizer = 'exampleorg', event = 'summit26'): Json | undefined {
		return this.ordersOf(organizer, event).find((order) => order.code === code);
	}

	/** Adds an order (its `last_modified` is kept unless `touch`). */
	addOrder(order: Json, organizer = 'exampleorg', event = 'summit26', touch = false): Json {
		if (touch) order.last_modified = this.clock.nowIso();
		this.pkOf(order);
		this.ordersOf(organizer, event).push(order);
		return order;
	}

	/**
	 * A new order shaped like an existing one (default: the ABC3K fixture), placed now: a fresh code
	 * and secret, new position ids (add-on links follow), `datetime` = `last_modified` = now, then
	 * `changes` applied. For building fixture-like orders in a test (e.g. before `cancelWithFee`).
	 */
	copyOrder(changes: Json = {}, from = 'ABC3K', organizer = 'exampleorg', event = 'summit26'): Json {
		const source = this.findOrder(from, organizer, event);
		if (!source) throw new Error(`fake pretix: no order ${from} in ${organizer}/${event}`);
		const copy = structuredClone(source);
		const used = new Set([...this.orders.values()].flat().map((o) => String(o.code)));
		const random = seededRandom(this.nextPk * 7919);
		let code: string;
		do {
			code = Array.from({ length: 5 }, () => 'ABCDEFGHJKLMNPQRSTUVWXYZ3789'[Math.floor(random() * 28)]).join('');
		} while (used.has(code));
		const now = this.clock.nowIso();
		const ids = new Map<number, number>();
		for (const position of copy.positions as Json[]) ids.set(position.id, this.nextPositionId++);
		for (const position of copy.positions as Json[]) {
			position.id = ids.get(position.id);
			if (position.addon_to !== null && position.addon_to !== undefined) position.addon_to = ids.get(position.addon_to) ?? position.addon_to;
			position.checkins = [];
			position.secret = randomToken(32);
			position.downloads = [];
		}
		if (typeof changes.code === 'string' && used.has(changes.code)) throw new Error(`fake pretix: order code ${changes.code} exists`);
		Object.assign(copy, { code, secret: randomToken(16), datetime: now, last_modified: now }, changes);
		for (const position of copy.positions as Json[]) position.order = copy.code;
		copy.url = `${this.url}/${organizer}/${event}/order/${copy.code}/${copy.secret}/`;
		return this.addOrder(copy, organizer, event);
	}

	/** Generates N orders into an event; returns them with the expected attendee classification. */
	generateOrders(options: Omit<GenerateOrdersOptions, 'baseUrl' | 'template'>): GeneratedOrders {
		const organizer = options.organizer ?? 'exampleorg';
		const event = options.event ?? 'summit26';
		const existing = [...this.orders.values()].flat().map((order) => String(order.code));
		const template = this.findOrder('ABC3K');
		const generated = generateOrders({ now: this.clock.nowIso(), ...options, organizer, event, baseUrl: this.url, template, avoidCodes: existing });
		for (const order of generated.orders) this.pkOf(order);
		this.ordersOf(organizer, event).push(...generated.orders);
		return generated;
	}

	/** Changes an order like pretix does: the mutation, then `last_modified` = now. */
	updateOrder(code: string, mutate: (order: Json) => void, organizer = 'exampleorg', event = 'summit26'): Json {
		const order = this.findOrder(code, organizer, event);
		if (!order) throw new Error(`fake pretix: no order ${code} in ${organizer}/${event}`);
		mutate(order);
		order.last_modified = this.clock.nowIso();
		return order;
	}

	/** Sets (or, with `undefined`, removes) a position's answer to the question with `identifier`. */
	setAnswer(code: string, positionId: number, answer: string | undefined, identifier = 'matrix', organizer = 'exampleorg', event = 'summit26'): Json {
		return this.updateOrder(
			code,
			(order) => {
				const position = (order.positions as Json[]).find((p) => p.id === positionId);
				if (!position) throw new Error(`fake pretix: no position ${positionId} in order ${code}`);
				const question = (this.questions.get(eventKey(organizer, event)) ?? []).find((q) => String(q.identifier).toLowerCase() === identifier.toLowerCase());
				const answers = (position.answers as Json[]).filter((a) => String(a.question_identifier).toLowerCase() !== identifier.toLowerCase());
				if (answer !== undefined) answers.unshift({ question: question?.id ?? 0, answer, question_identifier: question?.identifier ?? identifier, options: [], option_identifiers: [] });
				position.answers = answers;
			},
			organizer,
			event,
		);
	}

	/** Deletes a test-mode order (Order.gracefully_delete: "Only test mode orders can be deleted."). */
	deleteOrder(code: string, organizer = 'exampleorg', event = 'summit26'): void {
		const list = this.ordersOf(organizer, event);
		const index = list.findIndex((order) => order.code === code);
		if (index < 0) return;
		if (list[index].testmode !== true) throw new Error('fake pretix: only test mode orders can be deleted');
		list.splice(index, 1);
	}

	// ---------------------------------------------------------------- order state helpers
	// Each copies one pretix service (src/pretix/base/services/orders.py) and bumps last_modified.

	private position(order: Json, positionId: number): Json {
		const position = (order.positions as Json[]).find((p) => p.id === positionId);
		if (!position) throw new Error(`fake pretix: no position ${positionId} in order ${String(order.code)}`);
		return position;
	}

	/** `_cancel_order` without a fee: status `c`, cancellation_date now; positions keep `canceled: false`. */
	cancelOrder(code: string, organizer = 'exampleorg', event = 'summit26'): Json {
		return this.updateOrder(
			code,
			(order) => {
				order.status = 'c';
				order.cancellation_date = this.clock.nowIso();
			},
			organizer,
			event,
		);
	}

	/**
	 * `_cancel_order` with a cancellation fee: every position canceled, every fee canceled, one new
	 * `cancellation` fee, total = the fee, cancellation_date now, and status `p` — or `n` when the
	 * payments do not cover the fee (here: the order was not paid).
	 */
	cancelWithFee(code: string, fee = '10.00', organizer = 'exampleorg', event = 'summit26'): Json {
		return this.updateOrder(
			code,
			(order) => {
				const paid = order.status === 'p';
				for (const position of order.positions as Json[]) position.canceled = true;
				const fees: Json[] = ((order.fees as Json[] | undefined) ?? []).map((f) => ({ ...f, canceled: true }));
				fees.push({ id: this.nextFeeId++, fee_type: 'cancellation', value: fee, description: '', internal_type: '', tax_rate: '0.00', tax_value: '0.00', tax_rule: null, tax_code: null, canceled: false });
				order.fees = fees;
				order.total = fee;
				order.status = paid ? 'p' : 'n';
				order.cancellation_date = this.clock.nowIso();
			},
			organizer,
			event,
		);
	}

	/** OrderChangeManager.cancel (`order.changed.cancel`): the position and its add-ons get `canceled: true`. */
	cancelPosition(code: string, positionId: number, organizer = 'exampleorg', event = 'summit26'): Json {
		return this.updateOrder(
			code,
			(order) => {
				const target = this.position(order, positionId);
				for (const position of order.positions as Json[]) if (position === target || position.addon_to === target.id) position.canceled = true;
			},
			organizer,
			event,
		);
	}

	/** An order placed with approval required: status `n`, `require_approval: true` (no downloads). */
	requireApproval(code: string, organizer = 'exampleorg', event = 'summit26'): Json {
		return this.updateOrder(
			code,
			(order) => {
				order.status = 'n';
				order.require_approval = true;
				order.payment_date = null;
			},
			organizer,
			event,
		);
	}

	/** `approve_order`: `require_approval` false; a free order (total 0.00) becomes paid at once. */
	approveOrder(code: string, organizer = 'exampleorg', event = 'summit26'): Json {
		return this.updateOrder(
			code,
			(order) => {
				if (order.require_approval !== true || order.status !== 'n') throw new Error('fake pretix: this order is not pending approval');
				order.require_approval = false;
				if (Number(order.total) === 0) order.status = 'p';
			},
			organizer,
			event,
		);
	}

	/** `deny_order`: status `c`, and `require_approval` stays true (that is how a denial looks). */
	denyOrder(code: string, organizer = 'exampleorg', event = 'summit26'): Json {
		return this.updateOrder(
			code,
			(order) => {
				if (order.require_approval !== true || order.status !== 'n') throw new Error('fake pretix: this order is not pending approval');
				order.status = 'c';
			},
			organizer,
			event,
		);
	}

	/** PATCH `valid_if_pending` (the order API's writable field). */
	setValidIfPending(code: string, value = true, organizer = 'exampleorg', event = 'summit26'): Json {
		return this.updateOrder(code, (order) => void (order.valid_if_pending = value), organizer, event);
	}

	/** `order.changed.add_block` / `remove_block`: `blocked` is a list of reasons, or null when empty. */
	setBlocked(code: string, positionId: number, reasons: string[] | null, organizer = 'exampleorg', event = 'summit26'): Json {
		return this.updateOrder(code, (order) => void (this.position(order, positionId).blocked = reasons && reasons.length ? [...reasons] : null), organizer, event);
	}

	/** `order.changed.valid_from` / `valid_until`: the ticket's validity window (ISO or null). */
	setValidity(code: string, positionId: number, window: { validFrom?: string | null; validUntil?: string | null }, organizer = 'exampleorg', event = 'summit26'): Json {
		return this.updateOrder(
			code,
			(order) => {
				const position = this.position(order, positionId);
				if (window.validFrom !== undefined) position.valid_from = window.validFrom;
				if (window.validUntil !== undefined) position.valid_until = window.validUntil;
			},
			organizer,
			event,
		);
	}

	/** `order.changed.subevent`: moves a position (and its add-ons) to another date of the series. */
	setSubEvent(code: string, positionId: number, subevent: number | null, organizer = 'exampleorg', event = 'summit26'): Json {
		return this.updateOrder(
			code,
			(order) => {
				const target = this.position(order, positionId);
				for (const position of order.positions as Json[]) if (position === target || position.addon_to === target.id) position.subevent = subevent;
			},
			organizer,
			event,
		);
	}

	// ---------------------------------------------------------------- paging hooks

	/**
	 * Runs `fn` once, right after the `after`-th list response (default 1) that matches `match`
	 * (default: any orders list) has been computed and before it is sent — i.e. between two page
	 * requests of a client. pretix re-runs the query for every page, so a change made here shifts the
	 * following pages exactly like a concurrent change on a real pretix does.
	 */
	betweenPages(fn: (served: ServedPage) => void | Promise<void>, options: { after?: number; match?: string | RegExp } = {}): void {
		this.pageHooks.push({ after: options.after ?? 1, seen: 0, match: options.match, fn });
	}

	private pkOf(order: Json): number {
		let pk = this.pks.get(order);
		if (pk === undefined) {
			pk = this.nextPk++;
			this.pks.set(order, pk);
		}
		return pk;
	}

	// ---------------------------------------------------------------- OAuth helpers

	addAccessToken(token: OAuthAccessToken): OAuthAccessToken {
		this.accessTokens.set(token.token, token);
		const refresh = this.refreshTokens.get(token.refreshToken);
		if (refresh) refresh.accessToken = token.token;
		else
			this.refreshTokens.set(token.refreshToken, {
				token: token.refreshToken,
				clientId: token.clientId,
				scope: token.scope,
				organizers: token.organizers,
				accessToken: token.token,
				revoked: false,
			});
		return token;
	}

	/** Issues a token pair as if the OAuth flow had run (for pre-filled n8n credentials). */
	issueOAuthToken(options: { scope?: string; organizers?: string[]; expiresInS?: number; clientId?: string } = {}): { access_token: string; refresh_token: string; expires_in: number; token_type: 'Bearer'; scope: string } {
		const expiresIn = options.expiresInS ?? this.options.accessTokenLifetimeS ?? 86400;
		const token = this.addAccessToken({
			token: randomToken(30),
			refreshToken: randomToken(30),
			clientId: options.clientId ?? FAKE_OAUTH_CLIENT.clientId,
			scope: (options.scope ?? 'read').split(' '),
			organizers: options.organizers ?? [...this.organizers.keys()],
			expiresAtUs: this.clock.nowUs() + expiresIn * 1_000_000,
		});
		return { access_token: token.token, refresh_token: token.refreshToken, expires_in: expiresIn, token_type: 'Bearer', scope: token.scope.join(' ') };
	}

	/** Makes an access token expired now (the next API call with it gets 401). */
	expireAccessToken(token: string): void {
		const found = this.accessTokens.get(token);
		if (found) found.expiresAtUs = this.clock.nowUs() - 1;
	}

	/** Adds a redirect URI to an OAuth application; refused like pretix does unless its scheme is allowed. */
	registerRedirectUri(uri: string, clientId = FAKE_OAUTH_CLIENT.clientId): void {
		const client = this.oauthClients.get(clientId);
		if (!client) throw new Error(`fake pretix: no OAuth client ${clientId}`);
		this.assertRedirectUri(uri);
		if (!client.redirectUris.includes(uri)) client.redirectUris.push(uri);
	}

	private assertRedirectUri(uri: string): void {
		if (!redirectUriAllowed(uri, this.options.allowHttpRedirectUris ?? false)) {
			throw new Error(`fake pretix: redirect URI scheme not allowed (pretix allows only https outside DEBUG): ${uri}`);
		}
	}

	// ---------------------------------------------------------------- faults and log

	injectFaults(...faults: ScriptedFault[]): void {
		for (const fault of faults) this.scripted.push({ ...fault, remaining: fault.times ?? 1 });
	}

	/** The next `count` API calls (optionally matching) answer 429 with `Retry-After`. */
	storm429(count: number, retryAfterS = 1, match?: string | RegExp): void {
		this.injectFaults({ status: 429, retryAfter: retryAfterS, times: count, match });
	}

	clearFaults(): void {
		this.scripted = [];
		this.randomFaults = undefined;
	}

	requestCount(filter: { method?: string; path?: string | RegExp } = {}): number {
		return this.requests.filter((entry) => {
			if (filter.method && entry.method !== filter.method) return false;
			if (typeof filter.path === 'string' && !entry.path.includes(filter.path)) return false;
			if (filter.path instanceof RegExp && !filter.path.test(entry.path)) return false;
			return true;
		}).length;
	}

	resetRequests(): void {
		this.requests.length = 0;
	}

	// ---------------------------------------------------------------- webhooks

	/**
	 * Logs an action like pretix does and delivers it to every enabled webhook of the organizer that
	 * subscribed to it (wildcards included) and covers the event. Returns the notification id.
	 */
	notify(action: string, target: { organizer?: string; event?: string; code?: string; extra?: Json } = {}): { notificationId: number; deliveries: WebhookDelivery[] } {
		const organizer = target.organizer ?? 'exampleorg';
		const notificationId = this.nextNotificationId++;
		const payload: Json = { notification_id: notificationId, organizer };
		if (target.event !== undefined) payload.event = target.event;
		if (target.code !== undefined) payload.code = target.code;
		payload.action = action;
		Object.assign(payload, target.extra ?? {});
		const deliveries: WebhookDelivery[] = [];
		for (const hook of this.webhooks.get(organizer) ?? []) {
			if (!hook.enabled || !actionMatches(hook.action_types, action)) continue;
			if (!hook.all_events && (target.event === undefined || !hook.limit_events.includes(target.event))) continue;
			deliveries.push(this.sender.send(hook.target_url, payload, () => (hook.enabled = false)));
		}
		return { notificationId, deliveries };
	}

	/** Sends one payload to a URL with pretix's delivery rules, without a registered webhook. */
	deliver(targetUrl: string, payload: Json): WebhookDelivery {
		return this.sender.send(targetUrl, payload);
	}

	addWebhook(hook: Partial<FakeWebhook> & { target_url: string; action_types: string[] }, organizer = 'exampleorg'): FakeWebhook {
		const full: FakeWebhook = { id: this.nextWebhookId++, enabled: true, all_events: true, limit_events: [], comment: null, ...hook };
		if (!this.webhooks.has(organizer)) this.webhooks.set(organizer, []);
		this.webhooks.get(organizer)!.push(full);
		return full;
	}

	// ---------------------------------------------------------------- server

	async listen(port = 0): Promise<void> {
		this.server = http.createServer((req, res) => void this.handle(req, res));
		this.server.keepAliveTimeout = 1000;
		await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
		this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
	}

	async stop(): Promise<void> {
		this.sender.stop();
		if (!this.server) return;
		const server = this.server;
		this.server = undefined;
		server.closeAllConnections();
		await new Promise<void>((resolve) => server.close(() => resolve()));
	}

	private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
		const url = new URL(req.url ?? '/', this.url);
		const entry: RequestLogEntry = {
			at: Date.now(),
			method: req.method ?? 'GET',
			path: url.pathname,
			query: {},
			search: url.search.replace(/^\?/, ''),
			auth: authKind(req.headers.authorization),
			status: 0,
		};
		for (const [key, value] of url.searchParams) (entry.query[key] ??= []).push(value);
		this.requests.push(entry);
		let body: Buffer;
		try {
			body = await readBody(req);
		} catch {
			entry.status = 413;
			return this.write(res, 413, { detail: 'Request body too large.' });
		}
		try {
			const isApi = url.pathname.startsWith('/api/v1/organizers');
			if (isApi) {
				const fault = await this.applyFaults(url, entry, res);
				if (fault) return;
			}
			const result = this.route(req, url, body);
			entry.status = result.status;
			if (result.served) await this.runPageHooks(result.served);
			this.write(res, result.status, result.body, result.headers);
		} catch (error) {
			if (error instanceof HttpError) {
				entry.status = error.status;
				return this.write(res, error.status, error.body, error.headers);
			}
			entry.status = 500;
			this.write(res, 500, '<h1>Server Error (500)</h1>', { 'Content-Type': 'text/html' });
		}
	}

	private write(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
		if (res.headersSent || res.destroyed) return;
		const isText = typeof body === 'string';
		const payload = body === undefined ? '' : isText ? body : JSON.stringify(body);
		res.writeHead(status, {
			'Content-Type': isText ? 'text/html; charset=utf-8' : 'application/json',
			Vary: 'Accept, Authorization',
			'Content-Length': String(Buffer.byteLength(payload)),
			...headers,
		});
		res.end(payload);
	}

	private async applyFaults(url: URL, entry: RequestLogEntry, res: http.ServerResponse): Promise<boolean> {
		const target = `${url.pathname}${url.search}`;
		const index = this.scripted.findIndex((f) => f.remaining > 0 && (f.match === undefined || (typeof f.match === 'string' ? target.includes(f.match) : f.match.test(target))));
		let fault: ScriptedFault | undefined;
		if (index >= 0) {
			fault = this.scripted[index];
			this.scripted[index].remaining--;
			if (this.scripted[index].remaining <= 0) this.scripted.splice(index, 1);
		} else if (this.randomFaults) {
			const r = this.randomFaults;
			const latency = Array.isArray(r.latencyMs) ? r.latencyMs[0] + this.random() * (r.latencyMs[1] - r.latencyMs[0]) : r.latencyMs;
			if (latency) await new Promise((resolve) => setTimeout(resolve, latency));
			const roll = this.random();
			if (roll < (r.rate429 ?? 0)) fault = { status: 429, retryAfter: r.retryAfterS ?? 1 };
			else if (roll < (r.rate429 ?? 0) + (r.rate5xx ?? 0)) fault = { status: [500, 502, 503][Math.floor(this.random() * 3)] };
			else if (roll < (r.rate429 ?? 0) + (r.rate5xx ?? 0) + (r.garbageRate ?? 0)) fault = { kind: 'garbage' };
		}
		if (!fault) return false;
		const kind = fault.kind ?? 'status';
		entry.fault = kind === 'status' ? String(fault.status) : kind;
		if (kind === 'hang') {
			await new Promise((resolve) => setTimeout(resolve, fault.delayMs ?? 1000));
			entry.fault = undefined;
			return false;
		}
		if (kind === 'reset') {
			entry.status = 0;
			res.socket?.destroy();
			return true;
		}
		if (kind === 'garbage') {
			entry.status = 200;
			this.write(res, 200, '<html><body>Bad Gateway? Maintenance page</body></html>');
			return true;
		}
		if (kind === 'truncated') {
			entry.status = 200;
			res.writeHead(200, { 'Content-Type': 'application/json' });
			res.end('{"count": 15, "next": null, "results": [{"code": "ABC');
			return true;
		}
		const status = fault.status ?? 500;
		entry.status = status;
		if (status === 429) {
			const retryAfter = String(fault.retryAfter ?? 1);
			this.write(res, 429, { detail: `Request was throttled. Expected available in ${retryAfter} second${retryAfter === '1' ? '' : 's'}.` }, { 'Retry-After': retryAfter });
		} else if (status === 409) {
			this.write(res, 409, errorBody('409-lock-timeout', this.options.fixturesDir), { 'Retry-After': String(fault.retryAfter ?? this.options.lockRetryAfterS ?? 5) });
		} else if (status >= 500) {
			this.write(res, status, `<h1>Server Error (${status})</h1>`);
		} else {
			this.write(res, status, { detail: 'Injected fault.' });
		}
		return true;
	}

	// ---------------------------------------------------------------- routing

	private async runPageHooks(served: ServedPage): Promise<void> {
		for (const hook of [...this.pageHooks]) {
			const matches = hook.match === undefined ? /\/orders\/$/.test(served.path) : typeof hook.match === 'string' ? `${served.path}?${served.query}`.includes(hook.match) : hook.match.test(`${served.path}?${served.query}`);
			if (!matches || ++hook.seen < hook.after) continue;
			this.pageHooks.splice(this.pageHooks.indexOf(hook), 1);
			await hook.fn(served);
		}
	}

	private route(req: http.IncomingMessage, url: URL, rawBody: Buffer): { status: number; body?: unknown; headers?: Record<string, string>; served?: ServedPage } {
		const method = req.method ?? 'GET';
		const path = url.pathname;
		const dir = this.options.fixturesDir;

		if (path === '/api/v1/oauth/authorize') return this.oauthAuthorize(method, url);
		if (path === '/api/v1/oauth/token') return this.oauthToken(method, req, rawBody);
		if (path === '/api/v1/oauth/revoke_token') return this.oauthRevoke(method, req, rawBody);
		if (path === '/api/v1/me') {
			allow(method, ['GET']);
			const principal = this.authenticate(req, { bearerOnly: true });
			// /me only authenticates by session and OAuth; its first class is session auth, so no
			// WWW-Authenticate header exists and DRF answers 403 instead of 401.
			if (!principal) throw new HttpError(403, errorBody('401-not-authenticated', dir));
			return { status: 200, body: readFixture('oauth/me.json', dir) };
		}
		if (path === '/api/v1/version') return { status: 200, body: { pretix: '2025.10.0', pretix_numeric: 20251000 } };

		const m = /^\/api\/v1\/organizers(?:\/([^/]+)(?:\/(events|orders|subevents|webhooks)(?:\/([^/]+)(?:\/(questions|orders|subevents)(?:\/([^/]+))?)?)?)?)?(\/?)$/.exec(path);
		if (!m) return { status: 404, body: '<h1>Not Found</h1><p>The requested resource was not found on this server.</p>' };
		if (!m[6]) {
			// Django's APPEND_SLASH: GET redirects, other methods fail.
			if (method === 'GET') return { status: 301, headers: { Location: `${path}/${url.search}` } };
			return { status: 500, body: '<h1>Server Error (500)</h1>' };
		}
		const [, org, section, idOrEvent, sub, code] = m.map((part) => (part === undefined ? undefined : decodeURIComponent(part)));

		const principal = this.authenticate(req, {});
		if (!principal) throw new HttpError(401, errorBody('401-not-authenticated', dir), { 'WWW-Authenticate': 'Token' });
		this.checkScope(principal, method);

		if (!org) {
			allow(method, ['GET']);
			const visible = [...this.organizers.values()].filter((o) => this.canSeeOrganizer(principal, o.slug));
			return this.paginate(url, visible.sort((a, b) => String(a.slug).localeCompare(String(b.slug))));
		}
		if (!this.canSeeOrganizer(principal, org)) throw this.forbidden();
		this.checkRateLimit(org);
		if (!section) {
			allow(method, ['GET']);
			return { status: 200, body: this.organizers.get(org) };
		}
		if (section === 'webhooks') return this.webhookApi(principal, method, url, org, idOrEvent, sub, rawBody);
		if (section === 'orders') {
			if (idOrEvent !== undefined) return { status: 404, body: '<h1>Not Found</h1>' };
			allow(method, ['GET']);
			if (!this.permission(principal, 'canViewOrders')) throw this.forbidden();
			const all: Json[] = [];
			const dates: Json[] = [];
			for (const slug of this.events.get(org)?.keys() ?? []) {
				if (!this.canSeeEvent(principal, org, slug)) continue;
				all.push(...this.ordersOf(org, slug));
				dates.push(...this.subEventsOf(org, slug));
			}
			return this.orderList(url, all, dates);
		}
		if (section === 'subevents') {
			// SubEventViewSet without an event: the dates of every event the credential may see.
			if (idOrEvent !== undefined) return { status: 404, body: '<h1>Not Found</h1>' };
			allow(method, ['GET']);
			const dates: Json[] = [];
			for (const slug of this.events.get(org)?.keys() ?? []) if (this.canSeeEvent(principal, org, slug)) dates.push(...this.subEventsOf(org, slug));
			return this.subEventList(url, org, dates);
		}
		// section === 'events'
		if (idOrEvent === undefined) {
			allow(method, ['GET']);
			let list = [...(this.events.get(org)?.values() ?? [])].filter((event) => this.canSeeEvent(principal, org, event.slug));
			for (const field of ['is_public', 'live', 'has_subevents'] as const) {
				const wanted = parseBool(url.searchParams.get(field));
				if (wanted !== undefined) list = list.filter((event) => event[field] === wanted);
			}
			return this.paginate(
				url,
				list.map(({ valid_keys: _omit, ...rest }) => rest),
			);
		}
		const event = this.events.get(org)?.get(idOrEvent);
		if (!event || !this.canSeeEvent(principal, org, idOrEvent)) throw this.forbidden();
		if (!sub) {
			allow(method, ['GET']);
			return { status: 200, body: event };
		}
		if (sub === 'subevents') {
			allow(method, ['GET']);
			const dates = this.subEventsOf(org, idOrEvent);
			if (code === undefined) return this.subEventList(url, org, dates);
			const found = /^\d+$/.test(code) ? dates.find((s) => s.id === Number(code)) : undefined;
			if (!found) throw new HttpError(404, errorBody('404-not-found', dir));
			return { status: 200, body: structuredClone(found) };
		}
		if (sub === 'questions') {
			if (code !== undefined) {
				const question = (this.questions.get(eventKey(org, idOrEvent)) ?? []).find((q) => String(q.id) === code);
				if (!question) throw new HttpError(404, errorBody('404-not-found', dir));
				return { status: 200, body: question };
			}
			allow(method, ['GET']);
			let list = this.questions.get(eventKey(org, idOrEvent)) ?? [];
			const identifier = url.searchParams.get('identifier');
			if (identifier !== null) list = list.filter((q) => q.identifier === identifier);
			return this.paginate(url, list);
		}
		// sub === 'orders'
		allow(method, ['GET']);
		if (!this.permission(principal, 'canViewOrders')) throw this.forbidden();
		const orders = this.ordersOf(org, idOrEvent);
		if (code === undefined) return this.orderList(url, orders, this.subEventsOf(org, idOrEvent));
		const order = orders.find((o) => o.code === code);
		if (!order) throw new HttpError(404, errorBody('404-not-found', dir));
		return { status: 200, body: renderOrder(order, url.searchParams) };
	}

	private forbidden(): HttpError {
		return new HttpError(403, errorBody('403-permission-denied', this.options.fixturesDir));
	}

	private authenticate(req: http.IncomingMessage, options: { bearerOnly?: boolean }): Principal | undefined {
		const header = req.headers.authorization ?? '';
		const [scheme, value = ''] = header.trim().split(/\s+/, 2);
		const dir = this.options.fixturesDir;
		if (scheme === 'Token' && !options.bearerOnly) {
			const team = this.teamTokens.get(value);
			if (!team) throw new HttpError(401, errorBody('401-invalid-token', dir), { 'WWW-Authenticate': 'Token' });
			if (!team.active) throw new HttpError(401, { detail: 'Token inactive or deleted.' }, { 'WWW-Authenticate': 'Token' });
			return { kind: 'team', team };
		}
		if (scheme === 'Bearer') {
			const token = this.accessTokens.get(value);
			// django-oauth-toolkit rejects unknown/expired tokens silently: the request is anonymous.
			if (!token || token.expiresAtUs <= this.clock.nowUs()) return undefined;
			return { kind: 'oauth', oauth: token };
		}
		return undefined;
	}

	private checkScope(principal: Principal, method: string): void {
		if (principal.kind !== 'oauth') return;
		const needed = ['GET', 'HEAD', 'OPTIONS'].includes(method) ? 'read' : 'write';
		if (!principal.oauth!.scope.includes(needed)) throw this.forbidden();
	}

	private canSeeOrganizer(principal: Principal, organizer: string): boolean {
		if (!this.organizers.has(organizer)) return false;
		if (principal.kind === 'team') return principal.team!.organizer === organizer;
		const member = this.oauthUserOrganizers ?? [...this.organizers.keys()];
		return principal.oauth!.organizers.includes(organizer) && member.includes(organizer);
	}

	private canSeeEvent(principal: Principal, organizer: string, event: string): boolean {
		if (!this.events.get(organizer)?.has(event)) return false;
		if (principal.kind === 'team') return principal.team!.allEvents || principal.team!.limitEvents.includes(event);
		return true;
	}

	private permission(principal: Principal, name: keyof TeamPermissions): boolean {
		if (principal.kind === 'team') return principal.team!.permissions[name];
		return true;
	}

	private checkRateLimit(organizer: string): void {
		if (!this.rateLimit) return;
		const now = Date.now();
		const window = (this.rateWindows.get(organizer) ?? []).filter((t) => now - t < 60_000);
		if (window.length >= this.rateLimit.perMinute) {
			this.rateWindows.set(organizer, window);
			const retryAfter = this.rateLimit.retryAfterS ?? Math.max(1, Math.ceil((60_000 - (now - window[0])) / 1000));
			throw new HttpError(429, { detail: `Request was throttled. Expected available in ${retryAfter} second${retryAfter === 1 ? '' : 's'}.` }, { 'Retry-After': String(retryAfter) });
		}
		window.push(now);
		this.rateWindows.set(organizer, window);
	}

	private paginate(url: URL, items: Json[], headers: Record<string, string> = {}, render: (item: Json) => Json = (item) => item): { status: number; body: unknown; headers: Record<string, string>; served?: ServedPage } {
		const slice = slicePage(items, pageRequest(url.searchParams));
		if (!slice) throw new HttpError(404, errorBody('404-invalid-page', this.options.fixturesDir), headers);
		const { page, pages } = slice;
		const results = slice.results.map(render);
		return {
			status: 200,
			headers,
			served: { path: url.pathname, query: new URLSearchParams(url.searchParams), page, count: items.length, results },
			body: {
				count: items.length,
				next: page < pages ? pageLink(this.url, url.pathname, url.searchParams, page + 1) : null,
				previous: page > 1 ? pageLink(this.url, url.pathname, url.searchParams, page - 1 === 1 ? null : page - 1) : null,
				results,
			},
		};
	}

	private sorted(items: Json[], q: URLSearchParams, spec: OrderingSpec, pk: (item: Json) => number): Json[] {
		return sortItems(items, resolveOrdering(q, spec), spec, pk);
	}

	/**
	 * OrderViewSetMixin.list: X-Page-Generated is taken before the query; then OrderFilter, the
	 * TotalOrderingFilter ordering (default `datetime`, always ending in `-pk`) and one page of it.
	 */
	private orderList(url: URL, source: Json[], subevents: Json[]): { status: number; body: unknown; headers: Record<string, string>; served?: ServedPage } {
		const generated = this.clock.nowIso();
		const q = url.searchParams;
		let list: Json[];
		try {
			list = filterOrders(source, q, subevents as Array<{ id: number; date_from: string; date_to: string | null }>);
		} catch (error) {
			if (error instanceof QueryError) throw new HttpError(400, error.body);
			throw error;
		}
		list = this.sorted(list, q, ORDER_ORDERING, (order) => this.pkOf(order));
		return this.paginate(url, list, { 'X-Page-Generated': generated }, (order) => renderOrder(order, q));
	}

	/** SubEventViewSet.list: SubEventFilter, ordering `date_from` (plain DRF: no pk tiebreak), X-Page-Generated. */
	private subEventList(url: URL, organizer: string, source: Json[]): { status: number; body: unknown; headers: Record<string, string>; served?: ServedPage } {
		const generated = this.clock.nowIso();
		let list: Json[];
		try {
			list = filterSubEvents(source, url.searchParams, this.clock.nowUs(), (slug) => this.events.get(organizer)?.get(slug)?.live === true);
		} catch (error) {
			if (error instanceof QueryError) throw new HttpError(400, error.body);
			throw error;
		}
		list = this.sorted(list, url.searchParams, SUBEVENT_ORDERING, (s) => Number(s.id));
		return this.paginate(url, list, { 'X-Page-Generated': generated }, (s) => structuredClone(s));
	}

	// ---------------------------------------------------------------- webhooks API

	private webhookApi(principal: Principal, method: string, url: URL, org: string, id: string | undefined, extra: string | undefined, rawBody: Buffer): { status: number; body?: unknown; headers?: Record<string, string> } {
		if (extra !== undefined) return { status: 404, body: '<h1>Not Found</h1>' };
		if (!this.permission(principal, 'canChangeOrganizerSettings')) throw this.forbidden();
		const hooks = this.webhooks.get(org) ?? [];
		this.webhooks.set(org, hooks);
		if (id === undefined) {
			allow(method, ['GET', 'POST']);
			if (method === 'GET') return this.paginate(url, hooks);
			const hook = this.validateWebhook(org, parseJson(rawBody), undefined);
			const created = this.addWebhook(hook as FakeWebhook, org);
			return { status: 201, body: created };
		}
		const hook = hooks.find((h) => String(h.id) === id);
		if (!hook) throw new HttpError(404, errorBody('404-not-found', this.options.fixturesDir));
		allow(method, ['GET', 'PUT', 'PATCH', 'DELETE']);
		if (method === 'GET') return { status: 200, body: hook };
		if (method === 'DELETE') {
			// pretix's destroy only disables the webhook.
			hook.enabled = false;
			return { status: 204 };
		}
		Object.assign(hook, this.validateWebhook(org, parseJson(rawBody), method === 'PATCH' ? hook : undefined));
		return { status: 200, body: hook };
	}

	private validateWebhook(org: string, input: unknown, existing: FakeWebhook | undefined): Partial<FakeWebhook> {
		if (!input || typeof input !== 'object' || Array.isArray(input)) throw new HttpError(400, { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] });
		const data = input as Json;
		const errors: Record<string, string[]> = {};
		const out: Partial<FakeWebhook> = {};
		const partial = existing !== undefined;
		if (data.target_url !== undefined || !partial) {
			const target = data.target_url;
			if (target === undefined) errors.target_url = ['This field is required.'];
			else if (typeof target !== 'string' || !/^https?:\/\/[^\s/]+/.test(target)) errors.target_url = ['Enter a valid URL.'];
			else if (target.length > 1024) errors.target_url = ['Ensure this field has no more than 1024 characters.'];
			else out.target_url = target;
		}
		if (data.action_types !== undefined || !partial) {
			const types = data.action_types;
			if (types === undefined) errors.action_types = ['This field is required.'];
			else if (!Array.isArray(types)) errors.action_types = ['Expected a list of items but got type "str".'];
			else {
				const unknown = types.filter((t) => typeof t !== 'string' || !WEBHOOK_ACTION_TYPES.includes(t));
				if (unknown.length) errors.action_types = unknown.map((t) => `Invalid action type "${String(t)}".`);
				else out.action_types = types as string[];
			}
		}
		if (data.limit_events !== undefined) {
			if (!Array.isArray(data.limit_events)) errors.limit_events = ['Expected a list of items but got type "str".'];
			else {
				const missing = data.limit_events.filter((slug: unknown) => typeof slug !== 'string' || !this.events.get(org)?.has(slug));
				if (missing.length) errors.limit_events = missing.map((slug: unknown) => `Object with slug=${String(slug)} does not exist.`);
				else out.limit_events = data.limit_events;
			}
		}
		for (const field of ['enabled', 'all_events'] as const) {
			if (data[field] === undefined) continue;
			if (typeof data[field] !== 'boolean') errors[field] = ['Must be a valid boolean.'];
			else out[field] = data[field];
		}
		if (data.comment !== undefined) out.comment = data.comment === null ? null : String(data.comment);
		if (Object.keys(errors).length) throw new HttpError(400, errors);
		return out;
	}

	// ---------------------------------------------------------------- OAuth endpoints

	private oauthAuthorize(method: string, url: URL): { status: number; body?: unknown; headers?: Record<string, string> } {
		if (method !== 'GET') return { status: 405, body: '' };
		const q = url.searchParams;
		const client = this.oauthClients.get(q.get('client_id') ?? '');
		// Errors about the client or the redirect URI are shown to the user, never redirected.
		if (!client) return { status: 400, body: '<h1>Error: invalid_request</h1><p>Invalid client_id parameter value.</p>' };
		const redirectUri = q.get('redirect_uri') ?? undefined;
		const target = redirectUri ?? client.redirectUris[0];
		if (redirectUri !== undefined && !client.redirectUris.includes(redirectUri)) return { status: 400, body: '<h1>Error: invalid_request</h1><p>Mismatching redirect URI.</p>' };
		// DOT's HttpResponseUriRedirect refuses a scheme outside ALLOWED_REDIRECT_URI_SCHEMES (Django: 400).
		if (!redirectUriAllowed(target, this.options.allowHttpRedirectUris ?? false)) return { status: 400, body: '<h1>Bad Request (400)</h1>' };
		const state = q.get('state');
		const redirect = (params: Record<string, string>) => {
			const location = new URL(target);
			for (const [key, value] of Object.entries(params)) location.searchParams.set(key, value);
			if (state !== null) location.searchParams.set('state', state);
			return { status: 302, headers: { Location: location.toString() } };
		};
		// oauthlib: a missing response_type is invalid_request (src/tests/api/test_oauth.py
		// test_authorize_missing_response_type); pretix applications only allow the authorization-code
		// grant, so `token` is unauthorized_client (test_authorize_disallow_response_token).
		const responseType = q.get('response_type');
		if (responseType === null) return redirect({ error: 'invalid_request', error_description: 'Missing response_type parameter.' });
		if (responseType === 'token') return redirect({ error: 'unauthorized_client' });
		if (responseType !== 'code') return redirect({ error: 'unsupported_response_type' });
		const scope = (q.get('scope') ?? 'read').split(/[\s+]+/).filter(Boolean);
		if (scope.length === 0 || scope.some((s) => !OAUTH_SCOPES.includes(s))) return redirect({ error: 'invalid_scope' });
		if (!this.consent.approve) return redirect({ error: 'access_denied' });
		const organizers = this.consent.organizers ?? this.oauthUserOrganizers ?? [...this.organizers.keys()];
		if (organizers.length === 0 && scope.some((s) => s !== 'profile')) return redirect({ error: 'access_denied' });
		const code = randomToken(30);
		this.grants.set(code, { code, clientId: client.clientId, redirectUri, scope, organizers, expiresAtUs: this.clock.nowUs() + 60_000_000, used: false });
		return redirect({ code });
	}

	private clientOf(req: http.IncomingMessage, form: URLSearchParams): OAuthClient | undefined {
		const header = req.headers.authorization ?? '';
		let id: string | null = null;
		let secret: string | null = null;
		if (/^Basic\s+/i.test(header)) {
			const decoded = Buffer.from(header.replace(/^Basic\s+/i, ''), 'base64').toString('utf8');
			const colon = decoded.indexOf(':');
			if (colon < 0) return undefined;
			try {
				id = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
				secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
			} catch {
				return undefined;
			}
		} else {
			id = form.get('client_id');
			secret = form.get('client_secret');
		}
		const client = this.oauthClients.get(id ?? '');
		return client && client.clientSecret === secret ? client : undefined;
	}

	private tokenResponse(token: OAuthAccessToken): { status: number; body: unknown; headers: Record<string, string> } {
		return {
			status: 200,
			headers: { 'Cache-Control': 'no-store', Pragma: 'no-cache' },
			body: {
				access_token: token.token,
				expires_in: Math.round((token.expiresAtUs - this.clock.nowUs()) / 1_000_000),
				token_type: 'Bearer',
				scope: token.scope.join(' '),
				refresh_token: token.refreshToken,
			},
		};
	}

	private oauthToken(method: string, req: http.IncomingMessage, rawBody: Buffer): { status: number; body?: unknown; headers?: Record<string, string> } {
		if (method !== 'POST') return { status: 405, body: '' };
		const dir = this.options.fixturesDir;
		const isForm = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
		const form = new URLSearchParams(isForm ? rawBody.toString('utf8') : '');
		const noStore = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };
		const client = this.clientOf(req, form);
		if (!client) return { status: 401, body: readFixture('oauth/token-error-invalid-client.json', dir), headers: noStore };
		const invalidGrant = { status: 400, body: readFixture('oauth/token-error-invalid-grant.json', dir), headers: noStore };
		const lifetimeUs = (this.options.accessTokenLifetimeS ?? 86400) * 1_000_000;
		const grantType = form.get('grant_type');
		if (grantType === 'authorization_code') {
			const grant = this.grants.get(form.get('code') ?? '');
			if (!grant || grant.used || grant.clientId !== client.clientId || grant.expiresAtUs <= this.clock.nowUs()) return invalidGrant;
			if (grant.redirectUri !== undefined && form.get('redirect_uri') !== grant.redirectUri) {
				return { status: 400, body: { error: 'invalid_request', error_description: 'Mismatching redirect URI.' }, headers: noStore };
			}
			grant.used = true;
			const token = this.addAccessToken({ token: randomToken(30), refreshToken: randomToken(30), clientId: client.clientId, scope: grant.scope, organizers: grant.organizers, expiresAtUs: this.clock.nowUs() + lifetimeUs });
			return this.tokenResponse(token);
		}
		if (grantType === 'refresh_token') {
			const refresh = this.refreshTokens.get(form.get('refresh_token') ?? '');
			if (!refresh || refresh.revoked || refresh.clientId !== client.clientId) return invalidGrant;
			const requestedScope = form.get('scope');
			if (requestedScope && requestedScope.split(' ').some((s) => !refresh.scope.includes(s))) return { status: 400, body: { error: 'invalid_scope' }, headers: noStore };
			// The old access token dies at once; the refresh token is not rotated.
			if (refresh.accessToken) this.accessTokens.delete(refresh.accessToken);
			const token = this.addAccessToken({ token: randomToken(30), refreshToken: refresh.token, clientId: client.clientId, scope: refresh.scope, organizers: refresh.organizers, expiresAtUs: this.clock.nowUs() + lifetimeUs });
			return this.tokenResponse(token);
		}
		if (grantType === null) return { status: 400, body: { error: 'invalid_request', error_description: 'Request is missing grant type.' }, headers: noStore };
		return { status: 400, body: { error: 'unsupported_grant_type' }, headers: noStore };
	}

	private oauthRevoke(method: string, req: http.IncomingMessage, rawBody: Buffer): { status: number; body?: unknown; headers?: Record<string, string> } {
		if (method !== 'POST') return { status: 405, body: '' };
		const form = new URLSearchParams((req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded') ? rawBody.toString('utf8') : '');
		const client = this.clientOf(req, form);
		if (!client) return { status: 401, body: readFixture('oauth/token-error-invalid-client.json', this.options.fixturesDir) };
		const value = form.get('token') ?? '';
		const access = this.accessTokens.get(value);
		if (access && access.clientId === client.clientId) this.accessTokens.delete(value);
		const refresh = this.refreshTokens.get(value);
		if (refresh && refresh.clientId === client.clientId) {
			refresh.revoked = true;
			if (refresh.accessToken) this.accessTokens.delete(refresh.accessToken);
		}
		return { status: 200, body: '' };
	}
}

function allow(method: string, allowed: string[]): void {
	if (!allowed.includes(method)) throw new HttpError(405, { detail: `Method "${method}" not allowed.` }, { Allow: allowed.join(', ') });
}

function parseJson(raw: Buffer): unknown {
	try {
		return JSON.parse(raw.toString('utf8'));
	} catch (error) {
		throw new HttpError(400, { detail: `JSON parse error - ${(error as Error).message}` });
	}
}

function authKind(header: string | undefined): RequestLogEntry['auth'] {
	if (!header) return 'none';
	const scheme = header.trim().split(/\s+/)[0];
	if (scheme === 'Token') return 'token';
	if (scheme === 'Bearer') return 'bearer';
	if (scheme === 'Basic') return 'basic';
	return 'other';
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		req.on('data', (chunk: Buffer) => {
			size += chunk.length;
			if (size > MAX_BODY_BYTES) {
				reject(new Error('too large'));
				req.resume();
				return;
			}
			chunks.push(chunk);
		});
		req.on('end', () => resolve(Buffer.concat(chunks)));
		req.on('error', reject);
	});
}

export interface StartedFakePretix {
	url: string;
	/** Base URL of the API (`<url>/api/v1`). */
	apiUrl: string;
	pretix: FakePretix;
	stop(): Promise<void>;
}

/** Starts a fake pretix on 127.0.0.1 (random port unless given), seeded from the fixtures by default. */
export async function startFakePretix(options: FakePretixOptions = {}): Promise<StartedFakePretix & FakePretix> {
	const pretix = new FakePretix(options);
	await pretix.listen(options.port ?? 0);
	try {
		pretix.seedCredentials();
		if (options.seed !== false) pretix.seedFromFixtures();
		if (options.generate) pretix.generateOrders(options.generate);
	} catch (error) {
		await pretix.stop();
		throw error;
	}
	return Object.assign(pretix, { apiUrl: `${pretix.url}/api/v1`, pretix });
}
