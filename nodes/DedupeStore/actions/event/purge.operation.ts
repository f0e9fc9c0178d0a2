import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { Ledger } from '../../../../lib/store';
import { eventProperty, perItem, show } from '../common';

export const description: INodeProperties[] = [
	eventProperty('event', ['purge'], ''),
	{
		displayName: 'Also Remove Room Mappings',
		name: 'purgeMappings',
		type: 'boolean',
		default: false,
		description: "Whether to delete the event's room mappings too",
		displayOptions: show('event', ['purge']),
	},
];

/** After the event: deletes its ledger entries and cursors; only the aggregate counts remain. */
export async function execute(
	this: IExecuteFunctions,
	ledger: Ledger,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	return perItem(this, items, async (i) => {
		const event = this.getNodeParameter('event', i);
		const deleted = await ledger.purgeEvent(event, {
			mappings: this.getNodeParameter('purgeMappings', i, false) as boolean,
		});
		return [{ json: { event: String(event), deleted: { ...deleted } }, pairedItem: { item: i } }];
	});
}
