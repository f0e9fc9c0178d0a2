/**
 * Typed pretix failures. Messages are written for the person running the workflow: they say what to
 * do, name organizer/event slugs where useful, and never contain tokens, order codes or answers.
 */
export type PretixErrorKind =
	| 'unauthorized'
	| 'forbidden'
	| 'not_found'
	| 'rate_limited'
	| 'server'
	| 'bad_response'
	| 'network'
	| 'invalid_request'
	| 'invalid_input';

export class PretixApiError extends Error {
	readonly kind: PretixErrorKind;
	/** HTTP status when pretix answered; undefined for network errors and bad input. */
	readonly status?: number;
	/** A short hint on how to fix the problem, for n8n's error `description`. */
	readonly hint?: string;

	constructor(kind: PretixErrorKind, message: string, options: { status?: number; hint?: string } = {}) {
		super(message);
		this.name = 'PretixApiError';
		this.kind = kind;
		this.status = options.status;
		this.hint = options.hint;
	}
}

export interface RequestScope {
	organizer?: string;
	event?: string;
	/** What was being done, e.g. "list orders". */
	action?: string;
	/** A write request (POST/PUT/PATCH/DELETE): permission errors say "change", not "read". */
	write?: boolean;
}

function where(scope: RequestScope): string {
	if (scope.organizer && scope.event) return ` organizer "${scope.organizer}", event "${scope.event}"`;
	if (scope.organizer) return ` organizer "${scope.organizer}"`;
	return '';
}

/** pretix's validation error bodies are keyed by field; report the fields, not the values sent. */
function fieldNames(body: unknown): string[] {
	if (!body || typeof body !== 'object' || Array.isArray(body)) return [];
	return Object.keys(body as Record<string, unknown>).filter((key) => key !== 'detail').slice(0, 10);
}

function detailOf(body: unknown): string | undefined {
	const detail = (body as { detail?: unknown } | undefined)?.detail;
	// pretix's `detail` strings are fixed texts (no user data); cap the length anyway.
	return typeof detail === 'string' ? detail.slice(0, 200) : undefined;
}

export function errorForStatus(status: number, body: unknown, scope: RequestScope): PretixApiError {
	const action = scope.action ? `Could not ${scope.action}` : 'pretix request failed';
	if (status === 401) {
		return new PretixApiError('unauthorized', `${action}: pretix did not accept the credential (401).`, {
			status,
			hint: 'Reconnect the pretix OAuth2 credential, or check that the team API token still exists and is active.',
		});
	}
	if (status === 403) {
		const target = where(scope);
		const verb = scope.write ? 'is not allowed to change settings of' : 'cannot read';
		return new PretixApiError('forbidden', `${action}: this credential ${verb}${target || ' this resource'} (403).`, {
			status,
			hint: 'Check the organizer and event slugs, that the team (or the OAuth authorization) covers this organizer and event, and that it may view orders. Webhook registration needs "can change organizer settings" or the OAuth "write" scope.',
		});
	}
	if (status === 404) {
		return new PretixApiError('not_found', `${action}: not found in${where(scope) || ' pretix'} (404).`, { status });
	}
	if (status === 429 || status === 409) {
		return new PretixApiError('rate_limited', `${action}: pretix kept asking to slow down (${status}) after several retries.`, {
			status,
			hint: 'pretix.eu allows 360 requests per minute per organizer; run the workflow less often or later.',
		});
	}
	if (status >= 500) {
		return new PretixApiError('server', `${action}: pretix answered with a server error (${status}) after several retries.`, { status });
	}
	const fields = fieldNames(body);
	const detail = detailOf(body);
	const reason = detail ?? (fields.length ? `invalid fields: ${fields.join(', ')}` : 'unexpected answer');
	return new PretixApiError('invalid_request', `${action}: pretix rejected the request (${status}): ${reason}.`, { status });
}
