import { backoffMs, retryAfterMs, sleepMs } from '../http/retry';
import { TransportError, type HttpMethod, type HttpResponse, type HttpTransport, type QueryValue } from '../http/types';
import { isoToMicros } from './cursor';
import { errorForStatus, PretixApiError, type RequestScope } from './errors';
import type { PretixEvent, PretixOrder, PretixOrganizer, PretixPage, PretixQuestion, PretixSubEvent, PretixWebhook } from './types';

export interface PretixClientOptions {
	transport: HttpTransport;
	/** The pretix instance, e.g. https://pretix.eu (a trailing /api/v1 is tolerated). */
	instanceUrl: string;
	/** Retries after 429/409 (honouring Retry-After). Default 5. */
	maxThrottleRetries?: number;
	/** Retries after 5xx, garbage bodies and network errors (idempotent requests only). Default 4. */
	maxFailureRetries?: number;
	/** Longest single Retry-After we are willing to sleep; beyond it the call fails. Default 120 s. */
	maxRetryAfterMs?: number;
	backoffBaseMs?: number;
	timeoutMs?: number;
	sleep?: (ms: number) => Promise<void>;
	random?: () => number;
}

const SLUG = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const ORDER_CODE = /^[A-Za-z0-9]{1,32}$/;
const IDEMPOTENT: HttpMethod[] = ['GET', 'PUT', 'DELETE'];
/** A bound on pages per listing; 100 000 × 50 orders is far beyond any event, so only loops hit it. */
const MAX_PAGES = 100_000;

export function normalizeInstanceUrl(input: string): string {
	const raw = (input ?? '').trim();
	if (!URL.canParse(raw)) {
		throw new PretixApiError('invalid_input', 'The pretix URL in the credential is not a valid URL. Expected e.g. https://pretix.eu or https://tickets.example.org.');
	}
	const url = new URL(raw);
	if (url.protocol !== 'https:' && url.protocol !== 'http:') {
		throw new PretixApiError('invalid_input', 'The pretix URL in the credential must start with https:// (or http:// for a local test instance).');
	}
	const path = url.pathname.replace(/\/+$/, '').replace(/\/api(\/v1)?$/, '');
	return `${url.protocol}//${url.host}${path}`;
}

export function assertSlug(value: unknown, what: 'organizer' | 'event'): string {
	const slug = typeof value === 'string' ? value.trim() : '';
	if (!SLUG.test(slug)) {
		throw new PretixApiError('invalid_input', `The ${what} slug is missing or not a valid pretix slug (letters, digits, ".", "-", "_").`);
	}
	return slug;
}

export function assertOrderCode(value: unknown): string {
	const code = typeof value === 'string' ? value.trim() : '';
	if (!ORDER_CODE.test(code)) throw new PretixApiError('invalid_input', 'The order code is missing or not a valid pretix order code (letters and digits).');
	return code.toUpperCase();
}

function isJsonObject(body: unknown): body is Record<string, unknown> {
	return !!body && typeof body === 'object' && !Array.isArray(body);
}

/**
 * What an order listing asks pretix for. Only filters an order can never leave while it is being
 * listed are offered for the wire (`testmode` never changes, `last_modified` only grows); a
 * status or item filter would let an order drop out between two pages and shift the rest, so
 * callers filter those locally. `subevent` can change (a position moved to another date), which the
 * keyset paging of `orderPages` tolerates.
 */
export interface OrderListParams {
	modifiedSince?: string;
	testmode?: boolean;
	/** Only orders with a position in this date of an event series (canceled positions included). */
	subevent?: number;
	/** Default true: pretix leaves canceled positions out of its answer unless asked. */
	includeCanceledPositions?: boolean;
	pageSize?: number;
}

export interface OrderPage extends PretixPage<PretixOrder> {
	/** X-Page-Generated of this request (the server time taken before its query). */
	generated?: string;
	/** 0-based index of the request within this listing. */
	index: number;
}

/** pretix REST client over the HttpTransport seam: retries, pagination by `next`, typed errors. */
export class PretixClient {
	readonly instanceUrl: string;
	readonly apiUrl: string;
	/** HTTP requests made (retries included), for measuring incremental runs. */
	requests = 0;
	private readonly transport: HttpTransport;
	private readonly sleep: (ms: number) => Promise<void>;

	constructor(private readonly options: PretixClientOptions) {
		this.transport = options.transport;
		this.instanceUrl = normalizeInstanceUrl(options.instanceUrl);
		this.apiUrl = `${this.instanceUrl}/api/v1`;
		this.sleep = options.sleep ?? sleepMs;
	}

	/** One request with retries; resolves only with a 2xx response. */
	async request<T = unknown>(method: HttpMethod, pathOrUrl: string, scope: RequestScope, init: { qs?: Record<string, QueryValue | undefined>; body?: unknown; expectJson?: boolean } = {}): Promise<HttpResponse<T>> {
		const url = this.resolve(pathOrUrl);
		const maxThrottle = this.options.maxThrottleRetries ?? 5;
		const maxFailure = this.options.maxFailureRetries ?? 4;
		const retryFailures = IDEMPOTENT.includes(method);
		let throttled = 0;
		let failed = 0;
		const action = scope.action ? `Could not ${scope.action}` : 'pretix request failed';
		for (;;) {
			let response: HttpResponse<T>;
			try {
				this.requests++;
				response = await this.transport<T>({ method, url, qs: init.qs, body: init.body, timeoutMs: this.options.timeoutMs });
			} catch (error) {
				const code = error instanceof TransportError ? error.code : 'ENETWORK';
				if (retryFailures && failed < maxFailure) {
					await this.sleep(backoffMs(failed++, this.options.backoffBaseMs ?? 500, 30_000, this.options.random));
					continue;
				}
				// eslint-disable-next-line @n8n/community-nodes/require-node-api-error -- lib has no node: toNodeError() maps it (CONTRIBUTING.md)
				throw new PretixApiError('network', `${action}: no response from pretix (${code}).`, { hint: 'Check the pretix URL in the credential and that the server is reachable.' });
			}
			const status = response.status;
			if (status >= 200 && status < 300) {
				if (init.expectJson === false || isJsonObject(response.body)) return response;
				// A 2xx without a JSON object: a proxy or maintenance page. Retry like a server error.
				if (retryFailures && failed < maxFailure) {
					await this.sleep(backoffMs(failed++, this.options.backoffBaseMs ?? 500, 30_000, this.options.random));
					continue;
				}
				throw new PretixApiError('bad_response', `${action}: pretix answered with something that is not JSON (status ${status}).`, { status, hint: 'A proxy or maintenance page may be in front of pretix; try again later.' });
			}
			if (status === 429 || status === 409) {
				const wait = retryAfterMs(response) ?? 5000;
				if (throttled >= maxThrottle) throw errorForStatus(status, response.body, scope);
				if (wait > (this.options.maxRetryAfterMs ?? 120_000)) {
					throw new PretixApiError('rate_limited', `${action}: pretix asked to wait ${Math.ceil(wait / 1000)} s before the next request (${status}).`, { status, hint: 'Run the workflow again later.' });
				}
				throttled++;
				await this.sleep(wait);
				continue;
			}
			if (status >= 500 && retryFailures && failed < maxFailure) {
				await this.sleep(backoffMs(failed++, this.options.backoffBaseMs ?? 500, 30_000, this.options.random));
				continue;
			}
			throw errorForStatus(status, response.body, { ...scope, write: method !== 'GET' });
		}
	}

	/**
	 * Pages of a list endpoint, following `next` links only. A `next` on another host (a proxy that
	 * rewrote the scheme or host) is re-anchored on the instance so credentials never leave it.
	 */
	async *pages<T>(path: string, qs: Record<string, QueryValue | undefined>, scope: RequestScope): AsyncGenerator<PretixPage<T> & { generated?: string; index: number }> {
		let next: string | null = path;
		let query: Record<string, QueryValue | undefined> | undefined = qs;
		const seen = new Set<string>();
		for (let index = 0; next && index < MAX_PAGES; index++) {
			const response: HttpResponse<PretixPage<T>> = await this.request<PretixPage<T>>('GET', next, scope, { qs: query });
			const body = response.body;
			if (!Array.isArray(body.results)) {
				throw new PretixApiError('bad_response', `${scope.action ? `Could not ${scope.action}` : 'pretix request failed'}: the answer is not a pretix list.`);
			}
			yield { ...body, generated: response.headers['x-page-generated'], index };
			const link: unknown = body.next;
			if (typeof link !== 'string' || link.length === 0) return;
			const resolved = this.resolve(link);
			if (seen.has(resolved)) throw new PretixApiError('bad_response', 'pretix returned a pagination loop.');
			seen.add(resolved);
			next = resolved;
			query = undefined;
		}
	}

	async listAll<T>(path: string, qs: Record<string, QueryValue | undefined>, scope: RequestScope): Promise<T[]> {
		const out: T[] = [];
		for await (const page of this.pages<T>(path, qs, scope)) out.push(...page.results);
		return out;
	}

	organizers(): Promise<PretixOrganizer[]> {
		return this.listAll<PretixOrganizer>('/organizers/', {}, { action: 'list organizers' });
	}

	events(organizer: string): Promise<PretixEvent[]> {
		const org = assertSlug(organizer, 'organizer');
		return this.listAll<PretixEvent>(`/organizers/${enc(org)}/events/`, {}, { organizer: org, action: 'list events' });
	}

	async event(organizer: string, event: string): Promise<PretixEvent> {
		const org = assertSlug(organizer, 'organizer');
		const ev = assertSlug(event, 'event');
		return (await this.request<PretixEvent>('GET', `/organizers/${enc(org)}/events/${enc(ev)}/`, { organizer: org, event: ev, action: 'read the event' })).body;
	}

	questions(organizer: string, event: string, identifier?: string): Promise<PretixQuestion[]> {
		const org = assertSlug(organizer, 'organizer');
		const ev = assertSlug(event, 'event');
		return this.listAll<PretixQuestion>(`/organizers/${enc(org)}/events/${enc(ev)}/questions/`, { identifier }, { organizer: org, event: ev, action: 'list questions' });
	}

	/**
	 * Every order of one event (or of the whole organizer when `event` is undefined), page by page,
	 * without losing one to concurrent changes.
	 *
	 * pretix pages with LIMIT/OFFSET over a query it runs again for every page (DRF page-number
	 * pagination), so an order that leaves the filtered set between two requests shifts everything
	 * after it one place forward and one order is never seen. Instead of following `next` links this
	 * pages by key: ordered by `datetime` (pretix adds `-pk`; `datetime` never changes), each request
	 * asks again from the last `datetime` received (`created_since`, inclusive). An order that drops
	 * out (or joins) cannot move the ones after the key. The boundary order comes back once and is not
	 * yielded twice; an order that changed since it was yielded (newer `last_modified`) is yielded
	 * again. Two fallbacks follow `next` instead: a full page sharing one microsecond (the key cannot
	 * move), and a server that ignores `created_since` (an old pretix).
	 */
	orderPages(organizer: string, event: string | undefined, params: OrderListParams = {}): AsyncGenerator<OrderPage> {
		const org = assertSlug(organizer, 'organizer');
		const ev = event === undefined ? undefined : assertSlug(event, 'event');
		if (params.subevent !== undefined && (!Number.isSafeInteger(params.subevent) || params.subevent <= 0)) {
			throw new PretixApiError('invalid_input', 'The sub-event (date) must be a positive number, as in the date\'s shop URL.');
		}
		const path = ev ? `/organizers/${enc(org)}/events/${enc(ev)}/orders/` : `/organizers/${enc(org)}/orders/`;
		return this.keysetOrderPages(
			path,
			{
				include_canceled_positions: String(params.includeCanceledPositions ?? true),
				testmode: params.testmode === undefined ? undefined : String(params.testmode),
				subevent: params.subevent,
				modified_since: params.modifiedSince,
				ordering: 'datetime',
				page_size: params.pageSize ?? 50,
			},
			{ organizer: org, event: ev, action: 'list orders' },
		);
	}

	private async *keysetOrderPages(path: string, qs: Record<string, QueryValue | undefined>, scope: RequestScope): AsyncGenerator<OrderPage> {
		let createdSince: string | undefined;
		let keyUs: number | undefined;
		/** Set while paging by `next` links instead of by key. */
		let link: string | undefined;
		let ignoresKey = false;
		const yielded = new Map<string, string | undefined>();
		const links = new Set<string>();
		const failure = scope.action ? `Could not ${scope.action}` : 'pretix request failed';
		for (let index = 0; index < MAX_PAGES; index++) {
			const byKey = link === undefined;
			const response: HttpResponse<PretixPage<PretixOrder>> = byKey
				? await this.request<PretixPage<PretixOrder>>('GET', path, scope, { qs: { ...qs, created_since: createdSince } })
				: await this.request<PretixPage<PretixOrder>>('GET', link as string, scope);
			const body = response.body;
			if (!Array.isArray(body.results)) throw new PretixApiError('bad_response', `${failure}: the answer is not a pretix list.`);
			// An order before the key means the server ignored created_since: page by links from here.
			if (byKey && keyUs !== undefined && body.results.some((order) => (isoToMicros(order?.datetime) ?? keyUs!) < keyUs!)) ignoresKey = true;
			const fresh = body.results.filter((order) => {
				const id = order && typeof order.code === 'string' ? order.code : JSON.stringify(order);
				const version = typeof order?.last_modified === 'string' ? order.last_modified : undefined;
				if (yielded.has(id) && yielded.get(id) === version) return false;
				yielded.set(id, version);
				return true;
			});
			yield { ...body, results: fresh, generated: response.headers['x-page-generated'], index };
			const next: unknown = body.next;
			if (typeof next !== 'string' || next.length === 0) return;
			const last = isoToMicros(body.results[body.results.length - 1]?.datetime);
			if (!ignoresKey && last !== undefined && (keyUs === undefined || last > keyUs)) {
				createdSince = body.results[body.results.length - 1].datetime;
				keyUs = last;
				link = undefined;
				continue;
			}
			const resolved = this.resolve(next);
			if (links.has(resolved)) throw new PretixApiError('bad_response', 'pretix returned a pagination loop.');
			links.add(resolved);
			link = resolved;
		}
	}

	/** One order. Canceled positions are included unless `includeCanceledPositions` is false. */
	async order(organizer: string, event: string, code: string, includeCanceledPositions = true): Promise<PretixOrder> {
		const org = assertSlug(organizer, 'organizer');
		const ev = assertSlug(event, 'event');
		const orderCode = assertOrderCode(code);
		const qs = { include_canceled_positions: String(includeCanceledPositions) };
		return (await this.request<PretixOrder>('GET', `/organizers/${enc(org)}/events/${enc(ev)}/orders/${enc(orderCode)}/`, { organizer: org, event: ev, action: 'read the order' }, { qs })).body;
	}

	/** The dates of an event series (empty for a single event), ordered by `date_from`. */
	subEvents(organizer: string, event: string): Promise<PretixSubEvent[]> {
		const org = assertSlug(organizer, 'organizer');
		const ev = assertSlug(event, 'event');
		return this.listAll<PretixSubEvent>(`/organizers/${enc(org)}/events/${enc(ev)}/subevents/`, {}, { organizer: org, event: ev, action: 'list the dates of the event series' });
	}

	/** One date of an event series (404 → not_found). */
	async subEvent(organizer: string, event: string, id: number): Promise<PretixSubEvent> {
		const org = assertSlug(organizer, 'organizer');
		const ev = assertSlug(event, 'event');
		if (!Number.isSafeInteger(id) || id <= 0) throw new PretixApiError('invalid_input', 'The sub-event (date) must be a positive number, as in the date\'s shop URL.');
		return (await this.request<PretixSubEvent>('GET', `/organizers/${enc(org)}/events/${enc(ev)}/subevents/${id}/`, { organizer: org, event: ev, action: 'read the date of the event series' })).body;
	}

	async me(): Promise<Record<string, unknown>> {
		return (await this.request<Record<string, unknown>>('GET', '/me', { action: 'read the pretix user profile' })).body;
	}

	webhooks(organizer: string): Promise<PretixWebhook[]> {
		const org = assertSlug(organizer, 'organizer');
		return this.listAll<PretixWebhook>(`/organizers/${enc(org)}/webhooks/`, {}, { organizer: org, action: 'list webhooks' });
	}

	async createWebhook(organizer: string, webhook: Omit<PretixWebhook, 'id'>): Promise<PretixWebhook> {
		const org = assertSlug(organizer, 'organizer');
		return (await this.request<PretixWebhook>('POST', `/organizers/${enc(org)}/webhooks/`, { organizer: org, action: 'register the webhook' }, { body: webhook })).body;
	}

	async deleteWebhook(organizer: string, id: number): Promise<void> {
		const org = assertSlug(organizer, 'organizer');
		try {
			await this.request('DELETE', `/organizers/${enc(org)}/webhooks/${Number(id)}/`, { organizer: org, action: 'remove the webhook' }, { expectJson: false });
		} catch (error) {
			// Already gone is what we wanted.
			if (error instanceof PretixApiError && error.kind === 'not_found') return;
			// eslint-disable-next-line @n8n/community-nodes/require-node-api-error -- lib has no node: toNodeError() maps it (CONTRIBUTING.md)
			throw error;
		}
	}

	private resolve(pathOrUrl: string): string {
		if (pathOrUrl.startsWith('/')) return `${this.apiUrl}${pathOrUrl}`;
		if (!URL.canParse(pathOrUrl)) throw new PretixApiError('bad_response', 'pretix returned an invalid pagination link.');
		const url = new URL(pathOrUrl);
		const base = new URL(this.instanceUrl);
		if (url.host === base.host && url.protocol === base.protocol) return url.toString();
		if (!url.pathname.startsWith(`${base.pathname.replace(/\/$/, '')}/api/v1/`)) {
			throw new PretixApiError('bad_response', 'pretix returned a pagination link outside its API.');
		}
		return `${base.protocol}//${base.host}${url.pathname}${url.search}`;
	}
}

function enc(segment: string): string {
	return encodeURIComponent(segment);
}
