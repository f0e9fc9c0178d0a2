/**
 * The Matrix identifier grammar (spec appendices "Server Name" and "User Identifiers", v1.8+),
 * checked strictly: no normalisation happens here. See normalize.ts for what attendees type.
 */

/** Whole user ID, `@` and server included, in UTF-8 bytes. */
export const MAX_USER_ID_BYTES = 255;

const LOCALPART = /^[a-z0-9._=\-/+]+$/;
const DNS_NAME = /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/;
const DIGITS_AND_DOTS = /^[0-9.]+$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const IPV6_BODY = /^[0-9A-Fa-f:.]{2,45}$/;
const PORT = /^\d{1,5}$/;
const IPV6_GROUP = /^[0-9A-Fa-f]{1,4}$/;
const IPV4_OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)$/;

export type ServerNameProblem = 'badServerName' | 'badPort';

export interface ParsedServerName {
	host: string;
	hostKind: 'dns' | 'ipv4' | 'ipv6';
	port?: number;
}

export function isValidLocalpart(localpart: string): boolean {
	return LOCALPART.test(localpart);
}

/**
 * Parses `host[:port]`. A host of only digits and dots is taken as IPv4 and must be one, so
 * `256.1.1.1` is rejected although it would match the DNS label pattern.
 */
export function parseServerName(serverName: string): ParsedServerName | ServerNameProblem {
	let host: string;
	let portText: string | undefined;
	if (serverName.startsWith('[')) {
		const close = serverName.indexOf(']');
		if (close < 0) return 'badServerName';
		host = serverName.slice(0, close + 1);
		const rest = serverName.slice(close + 1);
		if (rest !== '') {
			if (!rest.startsWith(':')) return 'badServerName';
			portText = rest.slice(1);
		}
	} else {
		const colon = serverName.lastIndexOf(':');
		if (colon >= 0) {
			host = serverName.slice(0, colon);
			portText = serverName.slice(colon + 1);
		} else {
			host = serverName;
		}
	}

	let port: number | undefined;
	if (portText !== undefined) {
		if (!PORT.test(portText)) return 'badPort';
		port = Number(portText);
		if (port < 1 || port > 65535) return 'badPort';
	}

	if (host.startsWith('[')) {
		const body = host.slice(1, -1);
		if (!host.endsWith(']') || !IPV6_BODY.test(body) || !isIpv6Address(body))
			return 'badServerName';
		return { host, hostKind: 'ipv6', port };
	}
	if (host.length === 0 || host.length > 255) return 'badServerName';
	if (DIGITS_AND_DOTS.test(host)) {
		const octets = IPV4.exec(host);
		if (!octets || octets.slice(1).some((octet) => Number(octet) > 255)) return 'badServerName';
		return { host, hostKind: 'ipv4', port };
	}
	if (!DNS_NAME.test(host)) return 'badServerName';
	return { host, hostKind: 'dns', port };
}

/**
 * An IPv6 address in RFC 4291 §2.2 text form: eight groups of 1–4 hex digits; one `::` standing for
 * one or more groups of zeros; the last two groups optionally written as dotted IPv4 without leading
 * zeros. Accepts what Node's `net.isIPv6` accepts (zone IDs aside, which IPV6_BODY already excludes),
 * without importing `node:net` (test/unit/mxid/ipv6.test.ts compares the two).
 */
function isIpv6Address(text: string): boolean {
	const halves = text.split('::');
	if (halves.length > 2) return false;
	const parts = halves.map((half) => (half === '' ? [] : half.split(':')));
	let groups = 0;
	for (const [h, half] of parts.entries()) {
		for (const [i, part] of half.entries()) {
			const isLast = h === parts.length - 1 && i === half.length - 1;
			if (isLast && part.includes('.')) {
				const octets = part.split('.');
				if (octets.length !== 4 || !octets.every((octet) => IPV4_OCTET.test(octet))) return false;
				groups += 2;
			} else if (IPV6_GROUP.test(part)) {
				groups += 1;
			} else {
				return false;
			}
		}
	}
	return halves.length === 2 ? groups <= 7 : groups === 8;
}

export function isValidServerName(serverName: string): boolean {
	return typeof parseServerName(serverName) === 'object';
}

export function utf8Length(text: string): number {
	return Buffer.byteLength(text, 'utf8');
}

/** True when `userId` is a compliant (non-historical) user ID exactly as given. */
export function isValidUserId(userId: unknown): boolean {
	if (typeof userId !== 'string' || !userId.startsWith('@')) return false;
	if (utf8Length(userId) > MAX_USER_ID_BYTES) return false;
	const colon = userId.indexOf(':');
	if (colon < 0) return false;
	return isValidLocalpart(userId.slice(1, colon)) && isValidServerName(userId.slice(colon + 1));
}
