import type { IDataObject, INodeProperties } from 'n8n-workflow';

import type { InviteCodeInfo } from '../../../../lib/store';
import { show } from '../common';

export function field(operations: string[], displayName: string, name: string, value: string, description: string, required = false): INodeProperties {
	return { displayName, name, type: 'string', default: value, description, required, displayOptions: show('inviteCode', operations) };
}

/** A list parameter: an array from an expression, or values separated by commas, spaces or lines. */
export function listOf(value: unknown): string[] {
	const parts = Array.isArray(value) ? value.map((v) => String(v ?? '')) : String(value ?? '').split(/[\s,]+/);
	return [...new Set(parts.map((p) => p.trim()).filter(Boolean))];
}

function utc(ms: number): string {
	return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** The code's info for an item, with a readable line (uses, expiry in UTC, status). */
export function infoJson(info: InviteCodeInfo): IDataObject {
	const uses = info.usesAllowed === null ? `${info.uses} use${info.uses === 1 ? '' : 's'}, unlimited` : `${info.uses} of ${info.usesAllowed} use${info.usesAllowed === 1 ? '' : 's'}`;
	const expiry = info.expiresAt === null ? 'does not expire' : `${info.expiresAt <= Date.now() ? 'expired' : 'expires'} ${utc(info.expiresAt)}`;
	const state = info.status === 'active' ? '' : ` · ${info.status === 'usedUp' ? 'used up' : info.status}`;
	return {
		...info,
		expiresAt: info.expiresAt === null ? null : new Date(info.expiresAt).toISOString(),
		createdAt: new Date(info.createdAt).toISOString(),
		summary: `${info.rooms.length} room${info.rooms.length === 1 ? '' : 's'} · ${uses} · ${expiry}${state}`,
	};
}
