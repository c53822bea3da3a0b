/** The registry of the Clerk entities the sync keeps: every other event type is ignored. */
import type { Entity } from "./entity.ts";
import { USER } from "./user.ts";

const ENTITIES: readonly Entity[] = [USER];

/** The entity whose event `type` is, if the sync keeps it. */
export function entityOf(type: string): Entity | undefined {
  return ENTITIES.find((entity) => entity.deleteType === type || entity.stateTypes.includes(type));
}
