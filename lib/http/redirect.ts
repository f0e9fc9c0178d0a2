import type { HttpMethod, HttpResponse } from './types';

/**
 * Redirects are followed here, not by the HTTP library, because credentials and request bodies
 * (invites carry Matrix IDs) must never reach another origin: a 307 from the configured pretix or
 * homeserver to somewhere else would otherwise take the token along (n8n's request helper sends
 * credentials on cross-origin redirects by default — `sendCredentialsOnCrossOriginRedirect`, default
 * true in n8n 2.40 — and follow-redirects keeps Authorization for subdomains). Same-origin
 * redirects (a moved path, a trailing slash) and an upgrade of the same host to https are followed;
 * anything else is answered with the redirect itself, which the clients report as an error.
 */
export const MAX_REDIRECTS = 5;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export function isRedirect(status: number): boolean {
	return REDIRECT_STATUSES.has(status);
}

export type RedirectDecision =
	{ follow: true; url: string } | { follow: false; reason: 'crossOrigin' | 'noLocation' };

/** Whether a redirect from `from` to `location` may be followed with the same credentials. */
export function decideRedirect(from: string, location: string | undefined): RedirectDecision {
	if (!location) return { follow: false, reason: 'noLocation' };
	let source: URL;
	let target: URL;
	try {
		source = new URL(from);
		target = new URL(location, source);
	} catch {
		return { follow: false, reason: 'noLocation' };
	}
	const sameOrigin = source.origin === target.origin;
	const httpsUpgrade =
		source.protocol === 'http:' &&
		target.protocol === 'https:' &&
		source.hostname === target.hostname &&
		(target.port === '' || target.port === source.port);
	if (!sameOrigin && !httpsUpgrade) return { follow: false, reason: 'crossOrigin' };
	return { follow: true, url: target.toString() };
}

/** 303, and 301/302 after a POST, continue as a GET without a body (RFC 9110 §15.4, as browsers do). */
export function methodAfterRedirect(
	status: number,
	method: HttpMethod,
): { method: HttpMethod; keepBody: boolean } {
	if (status === 303 && method !== 'GET') return { method: 'GET', keepBody: false };
	if ((status === 301 || status === 302) && method === 'POST')
		return { method: 'GET', keepBody: false };
	return { method, keepBody: true };
}

/** The redirect answer, as the client sees it when it was not followed: a clear, ID-free error body. */
export function unfollowedRedirect<T>(
	response: HttpResponse<unknown>,
	decision: RedirectDecision,
): HttpResponse<T> {
	const message =
		decision.follow === false && decision.reason === 'crossOrigin'
			? `The server redirected the request to another address (${response.status}); credentials are never sent there. Put the address it redirects to into the credential.`
			: `The server answered with a redirect (${response.status}) that could not be followed.`;
	return {
		status: response.status,
		headers: response.headers,
		body: { detail: message, error: message } as T,
	};
}

export function tooManyRedirects<T>(response: HttpResponse<unknown>): HttpResponse<T> {
	const message = `The server redirected more than ${MAX_REDIRECTS} times.`;
	return {
		status: response.status,
		headers: response.headers,
		body: { detail: message, error: message } as T,
	};
}
