import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { Ledger } from '../../../../lib/store';
import { perItem } from '../common';
import { personProperties, readPerson, readPersonScope } from './person';

export const description: INodeProperties[] = personProperties('forget');

/** GDPR erasure: deletes every entry of the person; only the event's aggregate counts remain. */
export async function execute(
	this: IExecuteFunctions,
	ledger: Ledger,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	return perItem(this, items, async (i) => {
		const deleted = await ledger.forget(readPerson(this, i), readPersonScope(this, i));
		return [{ json: { deleted }, pairedItem: { item: i } }];
	});
}
