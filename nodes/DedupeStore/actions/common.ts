import type {
	ICredentialDataDecryptedObject,
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import {
	LedgerBackendError,
	LedgerInputError,
	type Ledger,
	type LedgerEntryInput,
	type StoreCredential,
} from '../../../lib/store';

/** One operation: gets every input item at once, so batch operations make one ledger call. */
export type Operation = (
	this: IExecuteFunctions,
	ledger: Ledger,
	items: INodeExecutionData[],
) => Promise<INodeExecutionData[][]>;

export function storeCredential(data: ICredentialDataDecryptedObject): StoreCredential {
	return data as unknown as StoreCredential;
}

/** Ledger errors never carry stored values, so their messages are safe to show. */
export function toNodeError(context: IExecuteFunctions, error: unknown, itemIndex?: number): Error {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
	if (error instanceof LedgerInputError) {
		return new NodeOperationError(context.getNode(), error.message, {
			itemIndex: itemIndex ?? error.index,
		});
	}
	if (error instanceof LedgerBackendError) {
		// The store is not an HTTP API, so NodeOperationError rather than NodeApiError.
		return new NodeOperationError(context.getNode(), error.message, {
			itemIndex,
			description:
				'Nothing was recorded for the failed call; claimed entries that were not completed are picked up again when their lease ends.',
		});
	}
	const message = error instanceof Error ? error.message : 'Unexpected error';
	return new NodeOperationError(context.getNode(), message, { itemIndex });
}

export function show(resource: string, operations: string[]): INodeProperties['displayOptions'] {
	return { show: { resource: [resource], operation: operations } };
}

export function eventProperty(
	resource: string,
	operations: string[],
	defaultValue = '={{ $json.event }}',
): INodeProperties {
	return {
		displayName: 'Event',
		name: 'event',
		type: 'string',
		default: defaultValue,
		required: true,
		description: 'Event the entries belong to, e.g. the pretix event slug (or organizer/event)',
		displayOptions: show(resource, operations),
	};
}

export function resultFieldProperty(resource: string, operations: string[]): INodeProperties {
	return {
		displayName: 'Result Field',
		name: 'resultField',
		type: 'string',
		default: 'dedupe',
		description: 'Field of the item that receives the result',
		displayOptions: show(resource, operations),
	};
}

/** Ledger entry parameters (event, scope, subject, Matrix ID, order code) for entry operations. */
export function entryProperties(operations: string[]): INodeProperties[] {
	return [
		eventProperty('entry', operations),
		{
			displayName: 'Scope',
			name: 'scope',
			type: 'string',
			default: '',
			placeholder: '!room:example.org',
			description:
				'What the subject is claimed for, e.g. the room ID; empty for the event as a whole',
			displayOptions: show('entry', operations),
		},
		{
			displayName: 'Subject',
			name: 'subject',
			type: 'string',
			default: '={{ $json.positionId }}',
			required: true,
			description:
				'What is de-duplicated, e.g. the pretix position ID or the Matrix ID. Stored only as a keyed hash.',
			displayOptions: show('entry', operations),
		},
		{
			displayName: 'Matrix ID',
			name: 'matrixId',
			type: 'string',
			default: '={{ $json.matrixId }}',
			description:
				"The attendee's Matrix ID, stored as a keyed hash so the person can be looked up or forgotten (GDPR). Optional.",
			displayOptions: show('entry', operations),
		},
		{
			displayName: 'Order Code',
			name: 'orderCode',
			type: 'string',
			default: '={{ $json.orderCode }}',
			description:
				'The pretix order code, stored as a keyed hash so the order can be looked up or forgotten (GDPR). Optional.',
			displayOptions: show('entry', operations),
		},
	];
}

export function readEntry(context: IExecuteFunctions, itemIndex: number): LedgerEntryInput {
	return {
		event: context.getNodeParameter('event', itemIndex),
		scope: context.getNodeParameter('scope', itemIndex, ''),
		subject: context.getNodeParameter('subject', itemIndex),
		matrixId: context.getNodeParameter('matrixId', itemIndex, ''),
		orderCode: context.getNodeParameter('orderCode', itemIndex, ''),
	};
}

export function resultField(context: IExecuteFunctions, itemIndex: number): string {
	const field = String(context.getNodeParameter('resultField', itemIndex, 'dedupe') ?? '').trim();
	return field || 'dedupe';
}

export function withResult(
	item: INodeExecutionData,
	field: string,
	result: unknown,
	itemIndex: number,
): INodeExecutionData {
	return {
		json: { ...item.json, [field]: result as IDataObject },
		pairedItem: { item: itemIndex },
	};
}

export function pairedIndex(item: INodeExecutionData): number {
	const paired = item.pairedItem;
	return typeof paired === 'object' && paired !== null && !Array.isArray(paired) ? paired.item : 0;
}

export function errorItem(
	context: IExecuteFunctions,
	error: unknown,
	itemIndex: number,
): INodeExecutionData {
	return {
		json: { error: toNodeError(context, error, itemIndex).message },
		pairedItem: { item: itemIndex },
	};
}

/**
 * Reads and validates the entry of every item before anything is written, so one bad item cannot
 * leave a half-written batch. Bad items fail the node, or with "Continue On Fail" are returned
 * separately.
 */
export function readEntries(
	context: IExecuteFunctions,
	ledger: Ledger,
	items: INodeExecutionData[],
	indexes: number[] = items.map((_, i) => i),
): { valid: Array<{ index: number; entry: LedgerEntryInput }>; failed: INodeExecutionData[] } {
	const valid: Array<{ index: number; entry: LedgerEntryInput }> = [];
	const failed: INodeExecutionData[] = [];
	for (const i of indexes) {
		try {
			const entry = readEntry(context, i);
			ledger.validate(entry);
			valid.push({ index: i, entry });
		} catch (error) {
			if (!context.continueOnFail()) throw toNodeError(context, error, i);
			failed.push(errorItem(context, error, i));
		}
	}
	return { valid, failed };
}

/** Runs `work` once per item (single-output operations), honouring "Continue On Fail". */
export async function perItem(
	context: IExecuteFunctions,
	items: INodeExecutionData[],
	work: (itemIndex: number) => Promise<INodeExecutionData[]>,
): Promise<INodeExecutionData[][]> {
	const out: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		try {
			out.push(...(await work(i)));
		} catch (error) {
			if (!context.continueOnFail()) throw toNodeError(context, error, i);
			out.push(errorItem(context, error, i));
		}
	}
	return [out];
}
