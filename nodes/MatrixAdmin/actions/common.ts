import {
	NodeApiError,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
	type JsonObject,
} from 'n8n-workflow';

import { n8nTransport } from '../../../lib/http/n8n-transport';
import { SynapseAdmin, SynapseAdminError, type TokenView } from '../../../lib/matrix/admin';
import { MatrixClient } from '../../../lib/matrix/client';

export type Operation = (this: IExecuteFunctions, admin: SynapseAdmin, itemIndex: number) => Promise<INodeExecutionData[]>;

export async function adminFor(context: IExecuteFunctions): Promise<SynapseAdmin> {
	const credentials = await context.getCredentials('matrixAdminApi');
	try {
		return new SynapseAdmin(new MatrixClient(String(credentials.homeserverUrl ?? ''), n8nTransport(context, 'matrixAdminApi', credentials)));
	} catch (error) {
		throw new NodeOperationError(context.getNode(), `The Matrix Admin API credential is not usable: ${(error as Error).message}`);
	}
}

/** Admin API failures as n8n errors; their messages never carry the token. */
export function toNodeError(context: IExecuteFunctions, error: unknown, itemIndex: number): Error {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
	if (error instanceof SynapseAdminError) {
		if (error.httpCode === undefined) return new NodeOperationError(context.getNode(), error.message, { itemIndex });
		const safe: JsonObject = { kind: error.kind, message: error.message, errcode: error.errcode ?? null };
		return new NodeApiError(context.getNode(), safe, { message: error.message, httpCode: String(error.httpCode), itemIndex });
	}
	return new NodeOperationError(context.getNode(), (error as Error)?.message ?? 'Unexpected error', { itemIndex });
}

/** What kind of failure (notFound, exists, forbidden, …) an error item carries, for IF nodes. */
export function errorKind(error: unknown): string {
	return error instanceof SynapseAdminError ? error.kind : 'invalid';
}

export const show = (operations: string[]): INodeProperties['displayOptions'] => ({ show: { resource: ['registrationToken'], operation: operations } });

export function tokenProperty(operations: string[], description: string): INodeProperties {
	return {
		displayName: 'Token',
		name: 'token',
		type: 'string',
		typeOptions: { password: true },
		default: '',
		required: true,
		description,
		displayOptions: show(operations),
	};
}

export function resultFieldProperty(operations: string[]): INodeProperties {
	return {
		displayName: 'Result Field',
		name: 'resultField',
		type: 'string',
		default: 'registrationToken',
		description: 'Field of the output item that receives the token (the input item is kept)',
		displayOptions: show(operations),
	};
}

export function withResult(context: IExecuteFunctions, itemIndex: number, result: TokenView | IDataObject): INodeExecutionData {
	const field = String(context.getNodeParameter('resultField', itemIndex, 'registrationToken') ?? '').trim() || 'registrationToken';
	return { json: { ...context.getInputData()[itemIndex].json, [field]: result as unknown as IDataObject }, pairedItem: { item: itemIndex } };
}

/** The token parameter as text (expressions may return numbers). */
export function tokenOf(context: IExecuteFunctions, itemIndex: number): string {
	const value = context.getNodeParameter('token', itemIndex, '');
	return typeof value === 'string' ? value.trim() : value === undefined || value === null ? '' : String(value).trim();
}

const DAY_MS = 86_400_000;

/**
 * An expiry from the node's fields: never, in N days, or at a point in time (ISO 8601 or ms).
 * undefined: leave it (update without a change).
 */
export function expiryOf(context: IExecuteFunctions, mode: unknown, days: unknown, at: unknown, itemIndex: number): number | null | undefined {
	if (mode === 'never') return null;
	if (mode === 'days') {
		const n = Number(days);
		if (!Number.isFinite(n) || n <= 0) throw new NodeOperationError(context.getNode(), 'Expires in days must be a number above 0', { itemIndex });
		return Date.now() + Math.round(n * DAY_MS);
	}
	if (mode === 'at') {
		const ms = typeof at === 'number' ? at : typeof at === 'string' && /^\d{10,}$/.test(at.trim()) ? Number(at.trim()) : Date.parse(String(at ?? ''));
		if (!Number.isFinite(ms)) throw new NodeOperationError(context.getNode(), 'Expires at must be a date and time (ISO 8601, e.g. 2026-11-30T18:00:00Z)', { itemIndex });
		return Math.round(ms);
	}
	return undefined;
}

export function usesOf(context: IExecuteFunctions, unlimited: unknown, uses: unknown, itemIndex: number): number | null {
	if (unlimited === true) return null;
	const n = Number(uses);
	if (!Number.isSafeInteger(n) || n < 0) throw new NodeOperationError(context.getNode(), 'Uses allowed must be a whole number, 0 or more', { itemIndex });
	return n;
}

const EXPIRY_OPTIONS = [
	{ name: 'Never', value: 'never' },
	{ name: 'After a Number of Days', value: 'days' },
	{ name: 'At a Date and Time', value: 'at' },
];

export const expiryProperties = (operations: string[], prefix: 'expiry' | 'updateExpiry'): INodeProperties[] => [
	prefix === 'updateExpiry'
		? {
				displayName: 'Expires',
				name: prefix,
				type: 'options',
				options: [{ name: 'Keep as It Is', value: 'keep' }, ...EXPIRY_OPTIONS],
				default: 'keep',
				displayOptions: show(operations),
			}
		: {
				displayName: 'Expires',
				name: prefix,
				type: 'options',
				options: EXPIRY_OPTIONS,
				default: 'days',
				displayOptions: show(operations),
			},
	{
		displayName: 'Expires in Days',
		name: `${prefix}Days`,
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 7,
		displayOptions: { show: { resource: ['registrationToken'], operation: operations, [prefix]: ['days'] } },
	},
	{
		displayName: 'Expires At',
		name: `${prefix}At`,
		type: 'dateTime',
		default: '',
		description: 'The last moment the token works (a time zone in the value, or UTC)',
		displayOptions: { show: { resource: ['registrationToken'], operation: operations, [prefix]: ['at'] } },
	},
];
