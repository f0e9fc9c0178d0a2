import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { Ledger } from '../../../../lib/store';
import { eventProperty, perItem } from '../common';

export const description: INodeProperties[] = [eventProperty('event', ['stats'], '')];

/** Aggregate counts only (also after a purge): no personal data. */
export async function execute(
	this: IExecuteFunctions,
	ledger: Ledger,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	return perItem(this, items, async (i) => [
		{
			json: { ...(await ledger.stats(this.getNodeParameter('event', i))) },
			pairedItem: { item: i },
		},
	]);
}
