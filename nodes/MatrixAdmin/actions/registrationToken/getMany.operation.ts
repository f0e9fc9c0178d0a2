import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { SynapseAdmin } from '../../../../lib/matrix/admin';
import { show } from '../common';

const ops = ['getMany'];

export const description: INodeProperties[] = [
	{
		displayName: 'Which Tokens',
		name: 'validity',
		type: 'options',
		options: [
			{ name: 'All', value: 'all' },
			{ name: 'Valid Only', value: 'valid', description: 'Uses left and not expired' },
			{ name: 'Invalid Only', value: 'invalid', description: 'Used up or expired' },
		],
		default: 'all',
		displayOptions: show(ops),
	},
];

/** One item per token (uses left, validity, expiry in UTC), oldest first as Synapse lists them. */
export async function execute(this: IExecuteFunctions, admin: SynapseAdmin, itemIndex: number): Promise<INodeExecutionData[]> {
	const validity = this.getNodeParameter('validity', itemIndex, 'all');
	const tokens = await admin.list(validity === 'valid' ? true : validity === 'invalid' ? false : undefined);
	return tokens.map((token) => ({ json: token as unknown as IDataObject, pairedItem: { item: itemIndex } }));
}
