import {
  ApiError,
  Assistant,
  type AssistantCreateParams,
  type AssistantDeleted,
  type AssistantUpdateParams,
  type ListPage,
  type ListQuery,
  newId,
  nowSeconds,
  toolResourcesForTools,
} from '@threadwork/domain'
import { AssistantCache } from './assistant-cache.js'
import { decodeFields, encodeFields } from './codec.js'
import type { Keys } from './keys.js'
import { listPage } from './paginate.js'
import { type RedisClient, runScript, scripts } from './scripts.js'

export type AssistantStore = ReturnType<typeof createAssistantStore>

/** What a turn's checks read of an assistant, as stored (JSON-encoded fields): `model` and `tools`. */
export interface AssistantStamp {
  model: string
  tools: string
}

/** Assistants, scoped by project: another project's id is simply not there. */
export function createAssistantStore(redis: RedisClient, k: Keys) {
  const notFound = (id: string) => ApiError.notFound('assistant', id)
  /** Parsed once per stored version: every read is still one HGETALL (an update is seen at once). */
  const parsed = new AssistantCache()

  return {
    async create(project: string, params: AssistantCreateParams): Promise<Assistant> {
      const assistant: Assistant = {
        id: newId('asst'),
        object: 'assistant',
        created_at: nowSeconds(),
        name: params.name ?? null,
        description: params.description ?? null,
        model: params.model,
        instructions: params.instructions ?? null,
        tools: params.tools ?? [],
        // Stored with OpenAI's empty entry for each built-in tool, so it stays if the tool is later removed.
        tool_resources: toolResourcesForTools(params.tool_resources ?? {}, params.tools ?? []),
        metadata: params.metadata ?? {},
        temperature: params.temperature ?? 1,
        top_p: params.top_p ?? 1,
        response_format: params.response_format ?? 'auto',
        // Not part of OpenAI's assistant object unless the client set it.
        ...(params.reasoning_effort != null ? { reasoning_effort: params.reasoning_effort } : {}),
      }
      await runScript(
        redis,
        scripts.insertObject,
        [k.assistant(project, assistant.id), k.assistants(project), k.projectMeta(project)],
        [assistant.id, project, ...encodeFields(assistant)],
      )
      return assistant
    },

    /** The assistant as stored now (one HGETALL); the object is shared between callers: never change it. @throws ApiError 404 */
    async get(project: string, id: string): Promise<Assistant> {
      return (await this.getStamped(project, id)).assistant
    },

    /**
     * The assistant and its stored `model` and `tools` (encoded, as in Redis): a turn checked
     * against a cached assistant passes them to `turns.create`, whose script stores the turn only
     * if the assistant still has them (one round trip per turn, issue 14).
     * @throws ApiError 404 when it is not there or another project's.
     */
    async getStamped(project: string, id: string): Promise<{ assistant: Assistant; stamp: AssistantStamp }> {
      // The assistant carries its own `_project`: one HGETALL is the guarded read (no script).
      const key = k.assistant(project, id)
      const raw = await redis.hgetall(key)
      if (raw._project !== project) throw notFound(id)
      return { assistant: parsed.parse(key, raw), stamp: { model: raw.model ?? '', tools: raw.tools ?? '' } }
    },

    async update(project: string, id: string, params: AssistantUpdateParams): Promise<Assistant> {
      const key = k.assistant(project, id)
      const changes: Record<string, unknown> = { ...params }
      // `null` resets a field to OpenAI's default rather than storing a null where the object has one.
      if (params.tools === null) changes.tools = []
      if (params.metadata === null) changes.metadata = {}
      if (params.temperature === null) changes.temperature = 1
      if (params.top_p === null) changes.top_p = 1
      if (params.response_format === null) changes.response_format = 'auto'
      const raw = await runScript<string[] | null>(redis, scripts.updateObject, [key, key], [project, ...encodeFields(changes)])
      if (!raw) throw notFound(id)
      const stored = decodeFields(raw)
      const assistant = Assistant.parse(stored)
      // New tools got their empty entries on read (the schema); keep them, as create does, so they
      // stay if the tool goes again. Only an update that touches the tools or resources can need it.
      if (
        (params.tools !== undefined || params.tool_resources !== undefined) &&
        JSON.stringify(stored.tool_resources) !== JSON.stringify(assistant.tool_resources)
      )
        await runScript(redis, scripts.updateObject, [key, key], [project, ...encodeFields({ tool_resources: assistant.tool_resources })])
      return assistant
    },

    async delete(project: string, id: string): Promise<AssistantDeleted> {
      const removed = await runScript<number>(
        redis,
        scripts.deleteIndexed,
        [k.projectMeta(project), k.assistants(project), k.assistant(project, id)],
        [project, id, ''],
      )
      if (!removed) throw notFound(id)
      return { id, object: 'assistant.deleted', deleted: true }
    },

    list(project: string, query: ListQuery): Promise<ListPage<Assistant>> {
      return listPage(
        redis,
        {
          ownerKey: k.projectMeta(project),
          indexKey: k.assistants(project),
          objectPrefix: k.assistantPrefix(project),
          // The index key is already project-scoped; a project with no assistants lists empty.
          project: '',
          parse: (raw) => Assistant.parse(raw),
          notFound: () => new ApiError(500, 'unreachable'),
        },
        query,
      )
    },
  }
}
