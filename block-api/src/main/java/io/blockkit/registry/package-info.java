/**
 * The driver registry: loads {@link io.blockkit.api.BlockDriver}s with ServiceLoader (or takes
 * explicit instances), probes formats and stacks format over protocol the way qemu-img does.
 */
package io.blockkit.registry;
