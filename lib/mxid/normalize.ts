import { isValidLocalpart, MAX_USER_ID_BYTES, parseServerName, utf8Length } from './grammar';
import { NOTE_MESSAGES, REASON_MESSAGES, type MxidNote, type MxidReason } from './messages';

/**
 * Turns what an attendee typed into a Matrix user ID, following the recommended steps of the
 * research notes (matrix-api.md §1.5): trim, unwrap links, refuse rooms, add a missing `@`, split
 * at the first `:`, lower-case, validate strictly, check the 255-byte limit.
 *
 * Never throws, whatever the input. Spaces *inside* the user name or server name are rejected,
 * not removed: `@ken smith:x` could be `@kensmith:x` or `@ken.smith:x`, and inviting the wrong
 * person is worse than asking. Only spaces next to the `@` and the separating `:` are dropped.
 */

/** Inputs longer than this are refused before any work (a valid ID has at most 255 bytes). */
export const MAX_INPUT_LENGTH = 2048;

export interface NormalizeOptions {
	/** Server appended to a bare user name such as `alice` (off unless given). */
	defaultServer?: string;
}

export interface MxidResult {
	valid: boolean;
	/** The normalised user ID when valid, otherwise null. */
	userId: string | null;
	/** Best-effort normalised text, also when invalid (for the organizer; may be empty). */
	candidate: string;
	localpart: string | null;
	serverName: string | null;
	reason: MxidReason | null;
	/** A sentence for the attendee explaining the reason; null when valid. */
	message: string | null;
	/** What was changed, in order. */
	notes: MxidNote[];
}

const INVISIBLE = /[\u200B-\u200D\u2060\u00AD\uFEFF\u180E]/g;
const SURROUNDING_WHITESPACE = /^\s+|\s+$/g;
const QUOTE_PAIRS: ReadonlyArray<[string, string]> = [
	['<', '>'],
	['"', '"'],
	["'", "'"],
	['`', '`'],
	['\u201C', '\u201D'],
	['\u201E', '\u201C'],
	['\u2018', '\u2019'],
	['\u00AB', '\u00BB'],
];
const MATRIX_TO = /^(?:https?:\/\/)?matrix\.to\/#\/(.*)$/is;
const MATRIX_URI = /^matrix:(u|user|r|room|roomid)\/(.*)$/is;
const WEB_CLIENT_LINK = /^https?:\/\/[^/#?\s]+\/[^#]*#\/(user|room)\/(.*)$/is;
const ANY_URL = /^[a-z][a-z0-9+.-]*:\/\//i;
const MAILTO = /^mailto:/i;

export function normalizeMxid(input: unknown, options: NormalizeOptions = {}): MxidResult {
	try {
		return normalizeUnsafe(input, options);
	} catch {
		// Defensive: the steps below do not throw, but a forwarded sentence beats a crashed run.
		return reject('badLocalpart', '', []);
	}
}

function normalizeUnsafe(input: unknown, options: NormalizeOptions): MxidResult {
	const notes: MxidNote[] = [];
	if (input === null || input === undefined) return reject('empty', '', notes);
	if (typeof input !== 'string') return reject('notText', '', notes);
	if (input.length > MAX_INPUT_LENGTH) return reject('tooLong', '', notes);

	let text = input;
	const visible = text.replace(INVISIBLE, '');
	if (visible !== text) notes.push('removedInvisibleCharacters');
	text = trim(visible, notes);
	const unquoted = stripQuotes(text);
	if (unquoted !== text) {
		notes.push('removedQuotes');
		text = trim(unquoted, notes);
	}
	if (text === '') return reject('empty', '', notes);

	const unwrapped = unwrapLink(text);
	if (unwrapped.kind === 'reject') return reject(unwrapped.reason, text, notes);
	if (unwrapped.kind === 'link') {
		notes.push('unwrappedLink');
		text = trim(unwrapped.id, []);
		if (text === '') return reject('empty', '', notes);
	}

	if (text.startsWith('!') || text.startsWith('#')) return reject('isRoomOrAlias', text, notes);

	// Drop spaces that only separate the sigil or the server from the name ("@ alice : example.org").
	const firstColon = text.indexOf(':');
	let tightened = text.replace(/^@\s+/, '@');
	if (firstColon >= 0) tightened = tightened.replace(/\s*:\s*/, ':');
	if (tightened !== text) {
		notes.push('removedSpaceAroundSeparator');
		text = tightened;
	}

	const body = text.startsWith('@') ? text.slice(1) : text;
	if (body.includes('@')) return reject('looksLikeEmail', text, notes);
	if (body === '') return reject('empty', '', notes);

	if (!text.includes(':')) {
		if (!options.defaultServer) return reject('missingServer', '@' + body, notes);
		if (!text.startsWith('@')) notes.push('addedAtSign');
		notes.push('addedDefaultServer');
		text = `@${body}:${options.defaultServer}`;
	} else if (!text.startsWith('@')) {
		notes.push('addedAtSign');
		text = '@' + text;
	}

	const colon = text.indexOf(':');
	let localpart = text.slice(1, colon);
	let serverName = text.slice(colon + 1);
	if (serverName.endsWith('.') && !/^\.+$/.test(serverName)) {
		serverName = serverName.replace(/\.+$/, '');
		notes.push('removedTrailingDot');
	}
	if (serverName === '') return reject('missingServer', `@${localpart}:`, notes);
	if (localpart === '') return reject('missingLocalpart', `@:${serverName}`, notes);

	const lowerLocalpart = asciiLower(localpart);
	if (lowerLocalpart !== localpart) notes.push('lowercasedLocalpart');
	localpart = lowerLocalpart;
	// Policy from the research notes: real server names are lower case and DNS ignores case.
	const lowerServerName = asciiLower(serverName);
	if (lowerServerName !== serverName) notes.push('lowercasedServerName');
	serverName = lowerServerName;

	const candidate = `@${localpart}:${serverName}`;
	if (/\s/.test(localpart) || /\s/.test(serverName))
		return reject('containsSpace', candidate, notes);
	if (!isValidLocalpart(localpart)) return reject('badLocalpart', candidate, notes);
	const parsed = parseServerName(serverName);
	if (typeof parsed === 'string') return reject(parsed, candidate, notes);
	if (utf8Length(candidate) > MAX_USER_ID_BYTES) return reject('tooLong', candidate, notes);

	return {
		valid: true,
		userId: candidate,
		candidate,
		localpart,
		serverName,
		reason: null,
		message: null,
		notes,
	};
}

type Unwrapped =
	{ kind: 'plain' } | { kind: 'link'; id: string } | { kind: 'reject'; reason: MxidReason };

function unwrapLink(text: string): Unwrapped {
	const matrixTo = MATRIX_TO.exec(text);
	if (matrixTo) {
		// Cut the query (via=…) before decoding, and decode once: `/` is legal in a localpart.
		const decoded = decodeOnce(cutAt(matrixTo[1], '?'));
		if (decoded === undefined) return { kind: 'reject', reason: 'unsupportedLink' };
		return { kind: 'link', id: decoded };
	}
	const matrixUri = MATRIX_URI.exec(text);
	if (matrixUri) {
		const type = matrixUri[1].toLowerCase();
		if (type !== 'u' && type !== 'user') return { kind: 'reject', reason: 'isRoomOrAlias' };
		const decoded = decodeOnce(cutAt(cutAt(matrixUri[2], '?'), '#'));
		if (decoded === undefined) return { kind: 'reject', reason: 'unsupportedLink' };
		return { kind: 'link', id: decoded.startsWith('@') ? decoded : '@' + decoded };
	}
	if (/^matrix:/i.test(text)) return { kind: 'reject', reason: 'unsupportedLink' };
	const webClient = WEB_CLIENT_LINK.exec(text);
	if (webClient) {
		if (webClient[1].toLowerCase() === 'room') return { kind: 'reject', reason: 'isRoomOrAlias' };
		const decoded = decodeOnce(cutAt(webClient[2], '?'));
		if (decoded === undefined) return { kind: 'reject', reason: 'unsupportedLink' };
		return { kind: 'link', id: decoded };
	}
	if (MAILTO.test(text)) return { kind: 'reject', reason: 'looksLikeEmail' };
	if (ANY_URL.test(text)) return { kind: 'reject', reason: 'unsupportedLink' };
	return { kind: 'plain' };
}

function reject(reason: MxidReason, candidate: string, notes: MxidNote[]): MxidResult {
	return {
		valid: false,
		userId: null,
		candidate: candidate.length > MAX_INPUT_LENGTH ? '' : candidate,
		localpart: null,
		serverName: null,
		reason,
		message: REASON_MESSAGES[reason],
		notes,
	};
}

function trim(text: string, notes: MxidNote[]): string {
	const trimmed = text.replace(SURROUNDING_WHITESPACE, '');
	if (trimmed !== text && !notes.includes('trimmed')) notes.push('trimmed');
	return trimmed;
}

function stripQuotes(text: string): string {
	for (const [open, close] of QUOTE_PAIRS) {
		if (text.length >= 2 && text.startsWith(open) && text.endsWith(close)) {
			return text.slice(open.length, text.length - close.length);
		}
	}
	return text;
}

function cutAt(text: string, separator: string): string {
	const index = text.indexOf(separator);
	return index < 0 ? text : text.slice(0, index);
}

function decodeOnce(text: string): string | undefined {
	try {
		return decodeURIComponent(text);
	} catch {
		return undefined;
	}
}

/** Only A-Z: full Unicode lower-casing maps e.g. the Kelvin sign to an ASCII `k`. */
function asciiLower(text: string): string {
	return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

/** The sentence for a note code, for node output. */
export function noteMessage(note: MxidNote): string {
	return NOTE_MESSAGES[note];
}
