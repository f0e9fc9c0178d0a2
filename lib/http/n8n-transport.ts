import type {
	IAdditionalCredentialOptions,
	ICredentialDataDecryptedObject,
	IExecuteFunctions,
	IHookFunctions,
	IHttpRequestOptions,
	ILoadOptionsFunctions,
	ITriggerFunctions,
	IWebhookFunctions,
} from 'n8n-workflow';
import {
	decideRedirect,
	isRedirect,
	MAX_REDIRECTS,
	methodAfterRedirect,
	tooManyRedirects,
	unfollowedRedirect,
} from './redirect';
import {
	lowerCaseHeaders,
	TransportError,
	type HttpMethod,
	type HttpRequest,
	type HttpResponse,
	type HttpTransport,
} from './types';

export type N8nRequestContext =
	| IExecuteFunctions
	| IHookFunctions
	| ILoadOptionsFunctions
	| ITriggerFunctions
	| IWebhookFunctions;

const NETWORK_CODES = new Set([
	'ECONNREFUSED',
	'ECONNRESET',
	'ENOTFOUND',
	'EAI_AGAIN',
	'ETIMEDOUT',
	'ECONNABORTED',
	'EPIPE',
	'EHOSTUNREACH',
	'ENETUNREACH',
	'UND_ERR_SOCKET',
]);

/**
 * An HttpTransport over n8n's `httpRequestWithAuthentication`, so the credential type decides how a
 * request is signed. HTTP errors come back as responses, except 401: n8n's OAuth2 signer refreshes the
 * token only when the request throws 401, so 401 is left to throw and mapped back afterwards.
 *
 * Redirects: n8n is told not to follow them (and, should it ever, not to take credentials to another
 * origin); same-origin ones are followed here, each hop signed by n8n again (see redirect.ts).
 *
 * `credentials`: what the caller's `getCredentials(credentialType)` returned, handed to n8n with
 * every request (its `credentialsDecrypted` option), so n8n signs with them instead of reading and
 * decrypting the credential from its database again per request (in a webhook's phase it also set
 * up an expression isolate each time: 14 % of a webhook's CPU in a burst, test/bench/README.md). n8n still
 * runs the credential's `preAuthentication` and its refresh-and-retry on 401 with them; OAuth2
 * credential types ignore the option (n8n reads and refreshes their token itself).
 */
export function n8nTransport(
	context: N8nRequestContext,
	credentialType: string,
	credentials?: ICredentialDataDecryptedObject,
): HttpTransport {
	const signWith = credentials ? { credentialsDecrypted: { id: '', name: credentialType, type: credentialType, data: credentials } } : undefined;
	return async <T>(request: HttpRequest): Promise<HttpResponse<T>> => {
		const options: IHttpRequestOptions = {
			method: request.method,
			url: request.url,
			qs: request.qs as IHttpRequestOptions['qs'],
			headers: { Accept: 'application/json', ...request.headers },
			returnFullResponse: true,
			ignoreHttpStatusErrors: { ignore: true, except: [401] },
			timeout: request.timeoutMs ?? 30_000,
			json: true,
			disableFollowRedirect: true,
			sendCredentialsOnCrossOriginRedirect: false,
		};
		if (request.form) {
			options.body = new URLSearchParams(request.form).toString();
			options.headers = { ...options.headers, 'Content-Type': 'application/x-www-form-urlencoded' };
			options.json = false;
		} else if (request.body !== undefined) {
			options.body = request.body as IHttpRequestOptions['body'];
		}
		let current = absoluteUrl(request.url, request.qs);
		for (let hop = 0; ; hop++) {
			const response = await sendOnce<T>(context, credentialType, options, signWith);
			if (!isRedirect(response.status)) return response;
			if (hop >= MAX_REDIRECTS) return tooManyRedirects<T>(response);
			const decision = decideRedirect(current, response.headers.location);
			if (!decision.follow) return unfollowedRedirect<T>(response, decision);
			const next = methodAfterRedirect(response.status, options.method as HttpMethod);
			options.method = next.method;
			if (!next.keepBody) {
				delete options.body;
				if (options.headers) delete options.headers['Content-Type'];
			}
			// The Location carries its own query string.
			options.url = decision.url;
			delete options.qs;
			current = decision.url;
		}
	};
}

async function sendOnce<T>(
	context: N8nRequestContext,
	credentialType: string,
	options: IHttpRequestOptions,
	signWith: IAdditionalCredentialOptions | undefined,
): Promise<HttpResponse<T>> {
	try {
		const response = (await context.helpers.httpRequestWithAuthentication.call(
			context,
			credentialType,
			{ ...options },
			signWith,
		)) as {
			body: unknown;
			headers: unknown;
			statusCode: number;
		};
		return {
			status: response.statusCode,
			headers: lowerCaseHeaders(response.headers),
			body: parseMaybeJson(response.body) as T,
		};
	} catch (error) {
		const mapped = responseOfError(error);
		if (mapped) return mapped as HttpResponse<T>;
		throw toTransportError(error);
	}
}

/** The URL as sent (query included), to resolve a relative Location against. */
function absoluteUrl(url: string, qs: HttpRequest['qs']): string {
	const target = new URL(url);
	for (const [key, value] of Object.entries(qs ?? {})) {
		if (value === undefined) continue;
		if (Array.isArray(value)) for (const v of value) target.searchParams.append(key, String(v));
		else target.searchParams.set(key, String(value));
	}
	return target.toString();
}

function parseMaybeJson(body: unknown): unknown {
	if (typeof body !== 'string') return body;
	const text = body.trim();
	if (!text.startsWith('{') && !text.startsWith('[')) return body;
	try {
		return JSON.parse(text);
	} catch {
		return body;
	}
}

type ErrorResponse = {
	status?: number;
	statusCode?: number;
	headers?: unknown;
	data?: unknown;
	body?: unknown;
};
type RequestFailure = {
	response?: ErrorResponse;
	cause?: {
		response?: ErrorResponse;
		code?: unknown;
		status?: unknown;
		failure?: { cause?: unknown };
	};
	code?: unknown;
	status?: unknown;
	failure?: { cause?: unknown };
};

/**
 * The server's answer carried by a failed request: axios keeps it on `response`, n8n's NodeApiError
 * wrapper on `cause.response`. A refused OAuth2 refresh (n8n's "needs to be reconnected" error, or
 * client-oauth2's EAUTH/ESTATUS) means the credential no longer works: reported as the 401 it is.
 */
function responseOfError(error: unknown): HttpResponse | undefined {
	const err = error as RequestFailure | undefined;
	if (!err || typeof err !== 'object') return undefined;
	const candidate = err.response ?? err.cause?.response;
	const status = candidate?.status ?? candidate?.statusCode;
	if (candidate && typeof status === 'number') {
		return {
			status,
			headers: lowerCaseHeaders(candidate.headers),
			body: parseMaybeJson(candidate.data ?? candidate.body),
		};
	}
	const inner = err.cause ?? err;
	const reconnect =
		err.failure?.cause === 'credential-invalid' || inner.failure?.cause === 'credential-invalid';
	if (reconnect || inner.code === 'EAUTH' || inner.code === 'ESTATUS') {
		const refusedStatus =
			inner.code === 'ESTATUS' && typeof inner.status === 'number' && inner.status >= 400
				? inner.status
				: 401;
		return {
			status: refusedStatus,
			headers: {},
			body: { detail: 'The token refresh was refused: reconnect the credential.' },
		};
	}
	return undefined;
}

export function toTransportError(error: unknown): TransportError {
	const err = error as { code?: string; cause?: { code?: string }; message?: string };
	const code = err?.code ?? err?.cause?.code ?? 'ENETWORK';
	// Only the code: messages of network errors may embed URLs with tokens or IDs.
	const known = NETWORK_CODES.has(code) ? code : 'ENETWORK';
	return new TransportError(`No response from the server (${known})`, known);
}
