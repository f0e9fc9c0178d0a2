import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { recordTicketOutcomes, type Ledger, type TicketStep } from '../../../../lib/store';
import { resultFieldProperty, show, toNodeError } from '../common';

const ops = ['record'];

export const description: INodeProperties[] = [
	{
		displayName: 'Plan',
		name: 'step',
		type: 'json',
		default: '={{ $json.plan }}',
		description: 'The step Plan put on the item (its key is read from there, nothing has to match)',
		displayOptions: show('ticket', ops),
	},
	{
		displayName: 'Matrix Result',
		name: 'status',
		type: 'string',
		default: "={{ $json.matrix?.status ?? '' }}",
		description: 'What happened on Matrix: the status Matrix Invite put on the item (invited, withdrawn, sent, …)',
		displayOptions: show('ticket', ops),
	},
	resultFieldProperty('ticket', ops),
];

/** Settles every item's step in order; items pass through with what was recorded. */
export async function execute(this: IExecuteFunctions, ledger: Ledger, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const inputs = items.map((_item, i) => {
		const raw = this.getNodeParameter('step', i, {});
		const step = (typeof raw === 'string' ? safeParse(raw) : raw) as TicketStep;
		return { step, status: this.getNodeParameter('status', i, '') };
	});
	try {
		const results = await recordTicketOutcomes(ledger, inputs);
		return [
			items.map((item, i) => {
				const field = String(this.getNodeParameter('resultField', i, 'dedupe') ?? '').trim() || 'dedupe';
				return { json: { ...item.json, [field]: results[i] as unknown as IDataObject }, pairedItem: { item: i } };
			}),
		];
	} catch (error) {
		throw toNodeError(this, error, (error as { index?: number }).index);
	}
}

function safeParse(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return undefined;
	}
}
