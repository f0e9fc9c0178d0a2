import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { createHash } from 'node:crypto';

import { n8nTransport } from '../../../lib/http/n8n-transport';
import { sharedBotFacts, type BotFacts } from '../../../lib/matrix/bot-facts';
import { MatrixApiError, MatrixClient } from '../../../lib/matrix/client';

/** Per client: a hash of the credential it was made from (a changed token is another bot). */
const credentialHashes = new WeakMap<MatrixClient, string>();

export async function matrixClientFor(context: IExecuteFunctions): Promise<MatrixClient> {
	const credentials = await context.getCredentials('matrixBotApi');
	try {
		const client = new MatrixClient(
			String(credentials.homeserverUrl ?? ''),
			n8nTransport(context, 'matrixBotApi', credentials),
		);
		const sorted = Object.keys(credentials)
			.sort()
			.map((key) => [key, credentials[key]]);
		credentialHashes.set(client, createHash('sha256').update(JSON.stringify(sorted)).digest('hex'));
		return client;
	} catch (error) {
		throw new NodeOperationError(
			context.getNode(),
			`The Matrix Bot API credential is not usable: ${(error as Error).message}`,
		);
	}
}

/**
 * What runs of this process with the same bot credential have learned about the bot and its rooms
 * (lib/matrix/bot-facts.ts): keyed by a hash of the whole credential, so a new token starts afresh.
 */
export function botFactsFor(client: MatrixClient): BotFacts | undefined {
	const hash = credentialHashes.get(client);
	return hash ? sharedBotFacts(`${hash}\u0000${client.homeserverUrl}`) : undefined;
}

/** A room list parameter: an array from an expression, or IDs/aliases separated by commas, spaces or lines. */
export function roomList(value: unknown): string[] {
	const parts = Array.isArray(value)
		? value.map((v) => String(v ?? ''))
		: String(value ?? '').split(/[\s,]+/);
	return [...new Set(parts.map((p) => p.trim()).filter(Boolean))];
}

export function userIdOf(value: unknown): string {
	return typeof value === 'string'
		? value.trim()
		: value === undefined || value === null
			? ''
			: String(value).trim();
}

/** A whole-run failure (rejected token): every item shares it. IDs never reach the message. */
export function runError(context: IExecuteFunctions, error: unknown): Error {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
	if (error instanceof MatrixApiError) {
		return new NodeApiError(
			context.getNode(),
			{ message: error.message },
			{ message: error.message, httpCode: error.httpCode },
		);
	}
	return new NodeOperationError(context.getNode(), (error as Error)?.message ?? 'Unknown error');
}

export function optionNumber(
	options: IDataObject,
	name: string,
	fallback: number,
	min: number,
	max: number,
): number {
	const value = Number(options[name]);
	if (!Number.isFinite(value)) return fallback;
	return Math.min(max, Math.max(min, value));
}

/** Every operation writes its result into one field of the item; its name is an option. */
/** The Options entry of the room operations that retry rate limits and server errors for a while. */
export const timeBudgetOption = (defaultSeconds: number): INodeProperties => ({
	displayName: 'Time Budget (Seconds)',
	name: 'budgetSeconds',
	type: 'number',
	typeOptions: { minValue: 1, maxValue: 3600 },
	default: defaultSeconds,
	description: 'How long to keep retrying rate limits and server errors',
});

/** The deadline of a room operation's retries, from its Time Budget option. */
export const retryDeadline = (options: IDataObject, defaultSeconds: number) => ({
	deadline: Date.now() + optionNumber(options, 'budgetSeconds', defaultSeconds, 1, 3600) * 1000,
});

export const resultFieldOption: INodeProperties = {
	displayName: 'Result Field',
	name: 'resultField',
	type: 'string',
	default: 'matrix',
	description: 'Field of the output item that receives the result',
};

export const roomsProperty = (operations: string[], description: string): INodeProperties => ({
	displayName: 'Rooms',
	name: 'rooms',
	type: 'string',
	default: '',
	required: true,
	placeholder: '#attendees:example.org, !AbCdEf:example.org',
	description,
	displayOptions: { show: { operation: operations } },
});

export const userIdProperty = (operations: string[]): INodeProperties => ({
	displayName: 'User ID',
	name: 'userId',
	type: 'string',
	default: '={{ $json.matrixId }}',
	required: true,
	placeholder: '@alice:example.org',
	description:
		'Matrix ID of the person, already normalised (use the MXID Validate node before this one)',
	displayOptions: { show: { operation: operations } },
});
