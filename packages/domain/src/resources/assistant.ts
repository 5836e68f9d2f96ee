import { z } from '@hono/zod-openapi'
import { Metadata, deletedOf, listOf } from '../shared.js'
import { AssistantTool, ReasoningEffort, ResponseFormat, Temperature, ToolResources, ToolResourcesCreate, TopP, toolResourcesForTools } from './tools.js'

export const Assistant = z
  .object({
    id: z.string(),
    object: z.literal('assistant'),
    created_at: z.number().int(),
    name: z.string().nullable(),
    description: z.string().nullable(),
    model: z.string(),
    instructions: z.string().nullable(),
    tools: z.array(AssistantTool),
    tool_resources: ToolResources.nullable(),
    metadata: z.record(z.string(), z.string()).nullable(),
    temperature: z.number().nullable(),
    top_p: z.number().nullable(),
    response_format: ResponseFormat.nullable(),
    reasoning_effort: ReasoningEffort.nullable().optional(),
  })
  // OpenAI's empty entry for each built-in tool (`toolResourcesForTools`). In the schema, so an
  // assistant stored without them reads back with them: storage parses what it reads with this.
  .transform((a) => {
    const tool_resources = toolResourcesForTools(a.tool_resources, a.tools)
    return tool_resources === a.tool_resources ? a : { ...a, tool_resources }
  })
  .openapi('AssistantObject')
export type Assistant = z.infer<typeof Assistant>

const assistantFields = {
  name: z.string().max(256).nullable().optional(),
  description: z.string().max(512).nullable().optional(),
  instructions: z.string().max(256_000).nullable().optional(),
  reasoning_effort: ReasoningEffort.nullable().optional(),
  tools: z.array(AssistantTool).max(128).optional(),
  tool_resources: ToolResources.nullable().optional(),
  metadata: Metadata.nullable().optional(),
  temperature: Temperature.nullable().optional(),
  top_p: TopP.nullable().optional(),
  response_format: ResponseFormat.nullable().optional(),
}

export const AssistantCreateParams = z
  // Only create takes the `vector_stores` helper (research/assistants-v2-surface.md §4).
  .strictObject({ model: z.string().min(1), ...assistantFields, tool_resources: ToolResourcesCreate.nullable().optional() })
  .openapi('CreateAssistantRequest')
export type AssistantCreateParams = z.infer<typeof AssistantCreateParams>

export const AssistantUpdateParams = z
  .strictObject({ model: z.string().min(1).optional(), ...assistantFields })
  .openapi('ModifyAssistantRequest')
export type AssistantUpdateParams = z.infer<typeof AssistantUpdateParams>

export const AssistantDeleted = deletedOf('assistant.deleted').openapi('DeleteAssistantResponse')
export type AssistantDeleted = z.infer<typeof AssistantDeleted>
export const AssistantList = listOf(Assistant).openapi('ListAssistantsResponse')
