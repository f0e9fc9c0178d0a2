import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { combineTicketSummaries, summarizeTicketRun, type Ledger, type TicketStep } from '../../../../lib/store';
import { show } from '../common';

const ops = ['summarize'];

export const description: INodeProperties[] = [
	{
		displayName: 'Plan Field',
		name: 'planField',
		type: 'string',
		default: 'plan',
		description: 'Field where Plan put the step; items without one (e.g. the event list) are not counted',
		displayOptions: show('ticket', ops),
	},
	{
		displayName: 'Record Field',
		name: 'recordField',
		type: 'string',
		default: 'dedupe',
		description: 'Field where Record put what it recorded',
		displayOptions: show('ticket', ops),
	},
	{
		displayName: 'Add Up Chunk Summaries',
		name: 'addUp',
		type: 'boolean',
		default: false,
		description:
			'Whether the items are summaries of chunks of one run (e.g. one per sub-workflow call of a batch) to add up into one, instead of the tickets themselves; other items are ignored',
		displayOptions: show('ticket', ops),
	},
];

/**
 * One item with the counts of a run (tickets, invited, already invited, withdrawn, kept, pending,
 * invalid, in progress, failed) and, for the organizers' room, the order codes of tickets with an
 * unusable Matrix ID or a failure. Always one item, also for an empty run.
 */
export async function execute(this: IExecuteFunctions, _ledger: Ledger, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	if (this.getNodeParameter('addUp', 0, false) === true) {
		const total = combineTicketSummaries(items.map((item) => item.json));
		return [[{ json: total as unknown as IDataObject, pairedItem: items.map((_item, i) => ({ item: i })) }]];
	}
	const planField = String(this.getNodeParameter('planField', 0, 'plan') ?? '').trim() || 'plan';
	const recordField = String(this.getNodeParameter('recordField', 0, 'dedupe') ?? '').trim() || 'dedupe';
	const summary = summarizeTicketRun(
		items.map((item) => ({
			step: item.json[planField] as unknown as TicketStep | undefined,
			recorded: (item.json[recordField] as IDataObject | undefined)?.recorded,
			positionNumber: item.json.positionNumber,
		})),
	);
	return [[{ json: summary as unknown as IDataObject, pairedItem: items.map((_item, i) => ({ item: i })) }]];
}
