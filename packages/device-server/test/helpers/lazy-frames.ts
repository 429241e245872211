import type { ClusterFrameMessage, ClusterLink, ClusterMessage } from '../../src/index.js'

/** How often the requester's node read the objects of the frames it relayed. */
export interface FrameReads {
  count: number
  /** Types of the frames whose object was read. */
  types: string[]
}

/**
 * Has `link` hand its node every frame with a `message` that counts its reads (as a link that parses a frame's text
 * only when its object is read would): what the node reads of the frames it relays shows in the returned counter.
 */
export function countFrameReads (link: ClusterLink): FrameReads {
  const reads: FrameReads = { count: 0, types: [] }
  const lazy = <M extends ClusterMessage>(message: M): M => {
    if (message.kind !== 'frame') return message
    const { message: decoded, ...rest } = message
    return { ...rest, get message () { reads.count++; reads.types.push(decoded.type); return decoded } } as unknown as M
  }
  const start = link.start.bind(link)
  link.start = async (handlers) => {
    const notice = handlers.notice
    await start({
      ...handlers,
      deliver: (clientId, message) => handlers.deliver(clientId, lazy(message)),
      ...(notice === undefined ? {} : { notice: (clientId: string, message: ClusterFrameMessage) => { notice(clientId, lazy(message)) } })
    })
  }
  return reads
}
