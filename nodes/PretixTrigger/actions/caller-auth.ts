import { createHash, timingSafeEqual } from 'node:crypto';

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
