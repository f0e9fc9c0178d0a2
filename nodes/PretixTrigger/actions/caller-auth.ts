import { createHash, timingSafeEqual } from 'node:crypto';

import { secretWeakness, type SecretWeakness } from '../../../lib/secrets';

/** Constant-time string equality (hashing first makes the lengths equal, so length leaks nothing). */
export function safeEqual(a: string, b: string): boolean {
	const x = createHash('sha256').update(a, 'utf8').digest();
	const y = createHash('sha256').update(b, 'utf8').digest();
	return timingSafeEqual(x, y) && a.length === b.length;
}

/** user:password from an `Authorization: Basic …` header, or undefined when absent or malformed. */
export function basicCredentials(header: unknown): { user: string; password: string } | undefined {
	if (typeof header !== 'string') return undefined;
	const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
	if (!match) return undefined;
	const decoded = Buffer.from(match[1], 'base64').toString('utf8');
	const colon = decoded.indexOf(':');
	if (colon < 0) return undefined;
	return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The last path segment of a request URL (query and trailing slash ignored), URL-decoded. */
export function lastPathSegment(url: unknown): string {
	if (typeof url !== 'string') return '';
	const path = url.split('?')[0].replace(/\/+$/, '');
	const segment = path.slice(path.lastIndexOf('/') + 1);
	try {
		return decodeURIComponent(segment);
	} catch {
		return segment;
	}
}

/** The webhook URL with user:password@ embedded, as it has to be given to pretix for Basic auth. */
export function withBasicAuth(url: string, user: string, password: string): string {
	const target = new URL(url);
	target.username = encodeURIComponent(user);
	target.password = encodeURIComponent(password);
	return target.toString();
}

/** Letters, digits, "-" and "_": what survives in a URL path segment unencoded. */
const PATH_SECRET_CHARSET = /^[A-Za-z0-9_-]{1,200}$/;
/** 22 random URL-safe characters carry at least 128 bits (22 · log2(62) ≈ 131 for letters and digits). */
export const MIN_PATH_SECRET_LENGTH = 22;

export const PATH_SECRET_HINT =
	"generate one with `openssl rand -base64 24 | tr -d '/+='` or `node -e \"console.log(require('crypto').randomBytes(18).toString('base64url'))\"`";

const PATH_SECRET_MESSAGES: Record<SecretWeakness, string> = {
	empty: 'The Path Secret is empty',
	tooShort: `The Path Secret needs at least ${MIN_PATH_SECRET_LENGTH} characters (letters, digits, "-", "_"; 128 bits)`,
	placeholder: 'The Path Secret is a placeholder or a well-known value',
	lowVariety:
		'The Path Secret is too regular (few distinct characters, runs, sequences or repeated blocks)',
};

/** Why a path secret cannot protect the webhook URL, or undefined when it can. Never contains the secret. */
export function pathSecretProblem(secret: unknown): string | undefined {
	const weakness = secretWeakness(secret, {
		minLength: MIN_PATH_SECRET_LENGTH,
		counted: /[A-Za-z0-9_-]/,
	});
	if (weakness) return `${PATH_SECRET_MESSAGES[weakness]}: ${PATH_SECRET_HINT}.`;
	if (!PATH_SECRET_CHARSET.test(String(secret)))
		return 'The Path Secret may only contain letters, digits, "-" and "_" (at most 200): it becomes the last segment of the webhook URL.';
	return undefined;
}

/** Why the configured caller authentication cannot be used, or undefined when it can. */
export function callerAuthProblem(parameter: (name: string) => unknown): string | undefined {
	const mode = String(parameter('callerAuth') ?? 'none');
	if (mode === 'pathSecret' || mode === 'pathSecretAndBasicAuth') {
		const problem = pathSecretProblem(parameter('pathSecret'));
		if (problem) return problem;
	}
	if (mode === 'basicAuth' || mode === 'pathSecretAndBasicAuth') {
		if (String(parameter('basicAuthUser') ?? '').trim() === '')
			return 'The Basic Auth User is empty.';
		if (String(parameter('basicAuthPassword') ?? '').trim() === '')
			return `The Basic Auth Password is empty: anyone could call the webhook with the user name alone; ${PATH_SECRET_HINT}.`;
	}
	return undefined;
}
