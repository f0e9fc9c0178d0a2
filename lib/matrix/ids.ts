/**
 * Identifier helpers for the Matrix client. User-ID grammar lives once, in lib/mxid; here we only
 * add what the client needs on top (room and event references).
 */
import { isValidServerName, isValidUserId as isValidMxid } from '../mxid';

export { isValidServerName };

/** Strict: an already-normalised modern user ID (what a homeserver accepts without surprises). */
export function isValidUserId(value: unknown): value is string {
	return isValidMxid(value);
}

export function serverNameOf(userId: string): string {
	return userId.slice(userId.indexOf(':') + 1);
}

/** `!opaque[:domain]` (room version 12 IDs have no domain). */
export function isRoomId(value: string): boolean {
	return /^![^\s]+$/.test(value) && Buffer.byteLength(value, 'utf8') <= 255;
}

export function isRoomAlias(value: string): boolean {
	return /^#[^:\s]+:[^\s]+$/.test(value) && Buffer.byteLength(value, 'utf8') <= 255;
}

export function isEventId(value: string): boolean {
	return /^\$[^\s]+$/.test(value) && Buffer.byteLength(value, 'utf8') <= 255;
}

/** Why a text names no room. Each has an ID-free message (roomRefMessage) safe for errors and logs. */
export type RoomRefProblem = 'empty' | 'notARoom' | 'unsupportedLink' | 'invalidRoom';

export type RoomRef =
	| { ok: true; /** A room ID (`!…`) or alias (`#…:server`). */ room: string; /** Servers to join through (`via`). */ via: string[] }
	| { ok: false; problem: RoomRefProblem };

const ROOM_REF_MESSAGES: Record<RoomRefProblem, string> = {
	empty: 'No room was given',
	notARoom: 'The link points to a user, not to a room',
	unsupportedLink: 'The link is not a matrix.to or matrix: link to a room',
	invalidRoom:
		'The room must be a room ID (!id:server), an alias (#name:server) or a matrix.to / matrix: link to one',
};

/** What to tell the user about an unusable room reference. Never repeats the input (it may be anything). */
export function roomRefMessage(problem: RoomRefProblem): string {
	return ROOM_REF_MESSAGES[problem];
}

// A pasted reference is short; anything longer is not a room link and is not parsed further.
const MAX_ROOM_REF_LENGTH = 2_048;
const MAX_VIA = 10;
/** Control characters (C0 and DEL): invisible when pasted, never part of a usable room reference. */
function hasControlCharacter(text: string): boolean {
	for (let i = 0; i < text.length; i++) {
		const code = text.charCodeAt(i);
		if (code < 0x20 || code === 0x7f) return true;
	}
	return false;
}
const MATRIX_TO = /^(?:https:\/\/)?matrix\.to\/#\//i;

/**
 * A room reference as people paste it: a room ID or alias, a matrix.to link
 * (`https://matrix.to/#/!id:server?via=…`, `…/#/%23alias%3Aserver`, an event link
 * `…/#/!id:server/$event` keeps only the room) or a Matrix URI (spec v1.11 appendix "Matrix URI
 * scheme": `matrix:r/alias:server`, `matrix:roomid/id:server?via=…`, `…/e/event`). Links to users
 * are refused: a user is not a room.
 */
export function parseRoomRef(value: unknown): RoomRef {
	if (typeof value !== 'string') return { ok: false, problem: 'invalidRoom' };
	const input = value.trim();
	if (!input) return { ok: false, problem: 'empty' };
	if (input.length > MAX_ROOM_REF_LENGTH) return { ok: false, problem: 'invalidRoom' };
	if (MATRIX_TO.test(input)) return fromMatrixTo(input.replace(MATRIX_TO, ''));
	if (/^matrix:/i.test(input)) return fromMatrixUri(input.slice('matrix:'.length));
	// Any other web link (another host, a pretix URL pasted in the wrong field) names no room.
	if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) return { ok: false, problem: 'unsupportedLink' };
	return plainRoom(input, []);
}

function plainRoom(id: string, via: string[]): RoomRef {
	if (hasControlCharacter(id)) return { ok: false, problem: 'invalidRoom' };
	if (isRoomId(id) || isRoomAlias(id)) return { ok: true, room: id, via };
	if (id.startsWith('@')) return { ok: false, problem: 'notARoom' };
	return { ok: false, problem: 'invalidRoom' };
}

function decoded(part: string): string | undefined {
	try {
		return decodeURIComponent(part);
	} catch {
		return undefined;
	}
}

function viaOf(query: string): string[] {
	const servers = new URLSearchParams(query).getAll('via').map((s) => s.trim());
	return [...new Set(servers.filter((s) => isValidServerName(s)))].slice(0, MAX_VIA);
}

/** matrix.to: `#/<identifier>[/<event id>][?via=…]`, each part possibly percent-encoded. */
function fromMatrixTo(fragment: string): RoomRef {
	const [path, ...query] = fragment.split('?');
	const parts = path.split('/').map(decoded);
	if (parts.some((p) => p === undefined) || parts.length > 2) return { ok: false, problem: 'invalidRoom' };
	const [id, event] = parts as string[];
	if (id.startsWith('@')) return { ok: false, problem: 'notARoom' };
	if (event !== undefined && !isEventId(event)) return { ok: false, problem: 'invalidRoom' };
	return plainRoom(id, viaOf(query.join('?')));
}

/**
 * Matrix URI: `matrix:[//authority/]<type>/<id without sigil>[/e/<event>][?query][#fragment]`. The
 * authority is reserved by the spec and ignored; `r` is an alias, `roomid` a room ID, `u` a user.
 */
function fromMatrixUri(rest: string): RoomRef {
	let body = rest.split('#')[0];
	if (body.startsWith('//')) body = body.slice(body.indexOf('/', 2) + 1 || body.length);
	const [path, ...query] = body.split('?');
	const parts = path.split('/');
	if (parts.length !== 2 && parts.length !== 4) return { ok: false, problem: 'invalidRoom' };
	const [type, raw, eventType, rawEvent] = parts;
	if (type === 'u') return { ok: false, problem: 'notARoom' };
	const sigil = type === 'r' ? '#' : type === 'roomid' ? '!' : undefined;
	if (!sigil) return { ok: false, problem: 'unsupportedLink' };
	const id = decoded(raw);
	if (!id || id.startsWith('#') || id.startsWith('!')) return { ok: false, problem: 'invalidRoom' };
	if (parts.length === 4) {
		const event = decoded(rawEvent);
		if (eventType !== 'e' || !event || !isEventId(`$${event}`)) return { ok: false, problem: 'invalidRoom' };
	}
	return plainRoom(sigil + id, viaOf(query.join('?')));
}
