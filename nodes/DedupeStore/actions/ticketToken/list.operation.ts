import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { listTicketTokens, type Ledger } from '../../../../lib/store';
import { perItem, show } from '../common';
import { listOf } from '../inviteCode/fields';

const ops = ['list'];

export const description: INodeProperties[] = [
	{
		displayName: 'Events',
		name: 'events',
		type: 'string',
		default: '',
		required: true,
		description: 'Ledger event keys, separated by commas (an expression may return an array)',
		displayOptions: show('ticketToken', ops),
	},
];

/** One item per token sent for a ticket of the events and not deleted: `{event, token}`. */
export async function execute(this: IExecuteFunctions, ledger: Ledger, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	return perItem(this, items, async (i) => (await listTicketTokens(ledger, listOf(this.getNodeParameter('events', i, '')))).map((t) => ({ json: { ...t }, pairedItem: { item: i } })));
}
