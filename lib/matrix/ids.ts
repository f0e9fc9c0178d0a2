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
