import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { recordTicketTokens, type Ledger, type TicketTokenStep } from '../../../../lib/store';
import { show, toNodeError } from '../common';

const ops = ['record'];

export const description: INodeProperties[] = [
	{
		displayName: 'Status',
		name: 'status',
		type: 'string',
		default: '',
		required: true,
		description: 'What happened: sent, mailFailed or failed (create); deleted, missing or failed (delete)',
		displayOptions: show('ticketToken', ops),
	},
	{
		displayName: 'Token',
		name: 'token',
		type: 'string',
		typeOptions: { password: true },
		default: '',
		description: 'Create: the token that was made (kept sealed, so a cancellation can delete it)',
		displayOptions: show('ticketToken', ops),
	},
];

/** Settles every item's `tokenStep`; each item gets `dedupe.recorded`. */
export async function execute(this: IExecuteFunctions, ledger: Ledger, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const records = items.map((item, i) => ({ step: item.json.tokenStep as unknown as TicketTokenStep, status: this.getNodeParameter('status', i, ''), token: this.getNodeParameter('token', i, '') }));
	try {
		const results = await recordTicketTokens(ledger, records);
		return [items.map((item, i) => ({ json: { ...item.json, dedupe: results[i] as unknown as IDataObject }, pairedItem: { item: i } }))];
	} catch (error) {
		throw toNodeError(this, error, (error as { index?: number }).index);
	}
}
