/** The shipped templates' Pretix Triggers have an empty path secret (refused at publish): tests give them one. */
export function setPathSecrets(workflow: { nodes: unknown }, secret: string): void {
	for (const node of workflow.nodes as Array<{ type: string; parameters: Record<string, unknown> }>) {
		if (node.type.endsWith('.pretixTrigger')) node.parameters.pathSecret = secret;
	}
}
