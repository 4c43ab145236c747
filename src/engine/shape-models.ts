/*
 * Each node's behaviour models from its shape (#17, #19): a fleet profile's shape may give its
 * nodes their own pod models and usage model (fleet-profile.ts); nodes of a shape without them
 * use the fleet's. One config and one context per shape, not per node.
 */
import { assignShapes, type EngineConfig, type NodeShape } from "./config.ts";
import type { EngineContext } from "./engine-context.ts";
import type { UsageDefaults } from "./usage/usage-defaults.ts";

/** The config a node of `shape` runs its pods by: the shape's pod models over the fleet's. */
export function shapeConfig(cfg: EngineConfig, shape: NodeShape): EngineConfig {
  return shape.pods ? { ...cfg, ...shape.pods } : cfg;
}

/** Hands out the context of each node: the engine's, with its shape's config where that differs. */
export class ShapeContexts {
  private readonly byContext = new WeakMap<EngineContext, Map<NodeShape, EngineContext>>();
  private readonly configs = new Map<NodeShape, EngineConfig>();

  /** The context of a node of `shape` whose context would otherwise be `ctx`. */
  context(ctx: EngineContext, shape: NodeShape): EngineContext {
    if (!shape.pods) return ctx;
    let byShape = this.byContext.get(ctx);
    if (!byShape) this.byContext.set(ctx, (byShape = new Map<NodeShape, EngineContext>()));
    let out = byShape.get(shape);
    if (!out) {
      let cfg = this.configs.get(shape);
      if (!cfg) this.configs.set(shape, (cfg = shapeConfig(ctx.cfg, shape)));
      out = { ...ctx, cfg };
      byShape.set(shape, out);
    }
    return out;
  }
}

/**
 * Each node's usage model, by node name: its shape's (the profile's `usage:`), else the fleet's
 * (`--usage-defaults`). Shapes are assigned as the engine assigns them ({@link assignShapes}).
 */
export function usageByNode(cfg: EngineConfig): (name: string) => UsageDefaults {
  if (cfg.shapes.every((s) => s.usage === undefined)) return () => cfg.usage;
  const shapes = assignShapes(cfg.nodeNames.length, cfg.shapes);
  const byName = new Map<string, UsageDefaults>();
  cfg.nodeNames.forEach((name, i) => byName.set(name, shapes[i]!.usage ?? cfg.usage));
  return (name) => byName.get(name) ?? cfg.usage;
}
