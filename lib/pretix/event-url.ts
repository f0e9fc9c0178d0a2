import type { PretixClient } from './client';
import { PretixApiError } from './errors';

export interface EventRef {
	organizer: string;
	event: string;
	/** Sub-event (date of a series) id when the URL names one. */
	subevent?: number;
}

export type ParsedEventUrl = ({ kind: 'slugs' } & EventRef) | { kind: 'lookup'; url: URL };

export const EVENT_URL_SHAPE =
	'Expected an event shop URL such as https://pretix.eu/<organizer>/<event>/ (or the same path on your own pretix host), or the shop URL of an event on a custom domain.';

const SLUG = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** First path segments that are pretix pages, not organizer slugs. */
const RESERVED = new Set(['api', 'control', 'static', 'media', 'redirect', 'locale', 'healthcheck', 'csp_report', 'jsi18n', 'widget', 'oauth2', 'about', 'robots.txt', 'favicon.ico']);
/** Second segments under an organizer that are organizer pages, not events. */
const ORGANIZER_PAGES = new Set(['account', 'widget', 'giftcard', 'events', 'organizer', 'ical', 'cookies']);

function invalid(detail: string): PretixApiError {
	return new PretixApiError('invalid_input', `${detail} ${EVENT_URL_SHAPE}`);
}

function segmentsOf(url: URL, basePath: string): string[] {
	let path = url.pathname;
	if (basePath && path.startsWith(basePath)) path = path.slice(basePath.length);
	return path
		.split('/')
		.filter(Boolean)
		.map((s) => {
			try {
				return decodeURIComponent(s);
			} catch {
				return s;
			}
		});
}

/**
 * Reads organizer and event slugs from a URL on the instance's own host without any request:
 * shop URLs (`/<org>/<event>/[<subevent>/]…`), control-panel URLs (`/control/event/<org>/<event>/`) and
 * API URLs (`/api/v1/organizers/<org>/events/<event>/`). Other hosts need a `public_url` lookup.
 */
export function parseEventUrl(input: string, instanceUrl: string): ParsedEventUrl {
	const raw = typeof input === 'string' ? input.trim() : '';
	if (!raw) throw invalid('The event URL is empty.');
	let url: URL;
	try {
		url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`);
	} catch {
		throw invalid('The event URL is not a valid URL.');
	}
	if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid('The event URL must be an http(s) URL.');
	const instance = new URL(instanceUrl);
	const basePath = instance.pathname.replace(/\/+$/, '');
	if (url.host.toLowerCase() !== instance.host.toLowerCase()) return { kind: 'lookup', url };

	const parts = segmentsOf(url, basePath);
	if (parts[0] === 'api' && parts[1] === 'v1' && parts[2] === 'organizers' && parts[4] === 'events' && parts[3] && parts[5]) {
		return slugs(parts[3], parts[5], undefined);
	}
	if (parts[0] === 'control' && parts[1] === 'event' && parts[2] && parts[3]) return slugs(parts[2], parts[3], undefined);
	if (parts.length === 0) throw invalid('The URL points to the pretix start page, not to an event.');
	if (RESERVED.has(parts[0].toLowerCase())) throw invalid('The URL points to a pretix page that is not an event shop.');
	if (parts.length === 1 || ORGANIZER_PAGES.has(parts[1].toLowerCase())) throw invalid('The URL points to an organizer page, not to one of its events.');
	const sub = parts[2] && /^\d+$/.test(parts[2]) ? Number(parts[2]) : undefined;
	return slugs(parts[0], parts[1], sub);
}

function slugs(organizer: string, event: string, subevent: number | undefined): ParsedEventUrl {
	if (!SLUG.test(organizer) || !SLUG.test(event)) throw invalid('The URL does not contain valid organizer and event slugs.');
	return subevent === undefined ? { kind: 'slugs', organizer, event } : { kind: 'slugs', organizer, event, subevent };
}

/** `https://Host/a/b` → `https://host/a/b/` for prefix comparison on whole path segments. */
function canonical(value: string): string | undefined {
	try {
		const url = new URL(value);
		const path = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
		return `${url.protocol}//${url.host.toLowerCase()}${path}`;
	} catch {
		return undefined;
	}
}

/**
 * Resolves any event URL to slugs. URLs on the instance host are parsed; others (custom domains) are
 * matched against the `public_url` of the organizers and events this credential can see.
 */
export async function resolveEventUrl(client: PretixClient, input: string): Promise<EventRef> {
	const parsed = parseEventUrl(input, client.instanceUrl);
	if (parsed.kind === 'slugs') {
		const { organizer, event, subevent } = parsed;
		return subevent === undefined ? { organizer, event } : { organizer, event, subevent };
	}
	const target = canonical(parsed.url.toString()) as string;
	const targetHost = parsed.url.host.toLowerCase();
	const organizers = await client.organizers();
	const hostOf = (u: string | undefined) => (u ? canonical(u)?.split('/')[2] : undefined);
	// Organizers with their own domain first; event domains can hang off any organizer.
	const ordered = [...organizers.filter((o) => hostOf(o.public_url) === targetHost), ...organizers.filter((o) => hostOf(o.public_url) !== targetHost)];
	for (const organizer of ordered) {
		const events = await client.events(organizer.slug);
		let best: { slug: string; length: number } | undefined;
		for (const event of events) {
			const publicUrl = canonical(event.public_url ?? '');
			if (publicUrl && target.startsWith(publicUrl) && (!best || publicUrl.length > best.length)) best = { slug: event.slug, length: publicUrl.length };
		}
		if (best) {
			// A date of a series adds its id after the event's shop URL, as on the main domain.
			const next = target.slice(best.length).split('/').filter(Boolean)[0];
			return next && /^\d+$/.test(next) ? { organizer: organizer.slug, event: best.slug, subevent: Number(next) } : { organizer: organizer.slug, event: best.slug };
		}
		const orgUrl = canonical(organizer.public_url ?? '');
		if (orgUrl && target === orgUrl) throw invalid('The URL points to an organizer page, not to one of its events.');
		// Only scan beyond the matching organizers when none matched by host.
		if (hostOf(organizer.public_url) === targetHost && ordered.filter((o) => hostOf(o.public_url) === targetHost).length === 1) break;
	}
	throw invalid('The URL is not the shop URL of an event this pretix credential can see.');
}

export const ORGANIZER_URL_SHAPE = 'Expected an organizer page URL such as https://pretix.eu/<organizer>/ (or the same path on your own pretix host), or the custom domain of an organizer.';

/**
 * Resolves an organizer page URL to its slug: on the instance host the first path segment (shop,
 * control-panel and API URLs of the organizer or one of its events work too); other hosts are matched
 * against the organizers' `public_url`.
 */
export async function resolveOrganizerUrl(client: PretixClient, input: string): Promise<string> {
	const bad = (detail: string) => new PretixApiError('invalid_input', `${detail} ${ORGANIZER_URL_SHAPE}`);
	const raw = typeof input === 'string' ? input.trim() : '';
	if (!raw) throw bad('The organizer URL is empty.');
	let url: URL;
	try {
		url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`);
	} catch {
		throw bad('The organizer URL is not a valid URL.');
	}
	if (url.protocol !== 'https:' && url.protocol !== 'http:') throw bad('The organizer URL must be an http(s) URL.');
	const instance = new URL(client.instanceUrl);
	if (url.host.toLowerCase() === instance.host.toLowerCase()) {
		const parts = segmentsOf(url, instance.pathname.replace(/\/+$/, ''));
		let slug: string | undefined = parts[0];
		if (parts[0] === 'api' && parts[1] === 'v1' && parts[2] === 'organizers') slug = parts[3];
		else if (parts[0] === 'control' && (parts[1] === 'organizer' || parts[1] === 'event')) slug = parts[2];
		else if (slug && RESERVED.has(slug.toLowerCase())) throw bad('The URL points to a pretix page that is not an organizer.');
		if (!slug) throw bad('The URL points to the pretix start page, not to an organizer.');
		if (!SLUG.test(slug)) throw bad('The URL does not contain a valid organizer slug.');
		return slug;
	}
	const target = canonical(url.toString()) as string;
	let best: { slug: string; length: number } | undefined;
	for (const organizer of await client.organizers()) {
		const publicUrl = canonical(organizer.public_url ?? '');
		if (publicUrl && target.startsWith(publicUrl) && (!best || publicUrl.length > best.length)) best = { slug: organizer.slug, length: publicUrl.length };
	}
	if (!best) throw bad('The URL is not the page of an organizer this pretix credential can see.');
	return best.slug;
}
