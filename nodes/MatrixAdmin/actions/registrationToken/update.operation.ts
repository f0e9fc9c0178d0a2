import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { SynapseAdmin, UpdateTokenInput } from '../../../../lib/matrix/admin';
import { expiryOf, expiryProperties, resultFieldProperty, show, tokenOf, tokenProperty, usesOf, withResult } from '../common';

const ops = ['update'];

export const description: INodeProperties[] = [
	tokenProperty(ops, 'The registration token to change'),
	{
		displayName: 'Uses',
		name: 'updateUses',
		type: 'options',
		options: [
			{ name: 'Keep as They Are', value: 'keep' },
			{ name: 'Set a Number', value: 'set', description: '0 makes the token unusable without deleting it' },
			{ name: 'Unlimited', value: 'unlimited' },
		],
		default: 'keep',
		displayOptions: show(ops),
	},
	{
		displayName: 'Uses Allowed',
		name: 'updateUsesAllowed',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 1,
		displayOptions: { show: { resource: ['registrationToken'], operation: ops, updateUses: ['set'] } },
	},
	...expiryProperties(ops, 'updateExpiry'),
	resultFieldProperty(ops),
];

export async function execute(this: IExecuteFunctions, admin: SynapseAdmin, itemIndex: number): Promise<INodeExecutionData[]> {
	const changes: UpdateTokenInput = {};
	const uses = this.getNodeParameter('updateUses', itemIndex, 'keep');
	if (uses !== 'keep') changes.usesAllowed = usesOf(this, uses === 'unlimited', this.getNodeParameter('updateUsesAllowed', itemIndex, 1), itemIndex);
	const expiry = expiryOf(this, this.getNodeParameter('updateExpiry', itemIndex, 'keep'), this.getNodeParameter('updateExpiryDays', itemIndex, 7), this.getNodeParameter('updateExpiryAt', itemIndex, ''), itemIndex);
	if (expiry !== undefined) changes.expiryTime = expiry;
	return [withResult(this, itemIndex, await admin.update(tokenOf(this, itemIndex), changes))];
}
