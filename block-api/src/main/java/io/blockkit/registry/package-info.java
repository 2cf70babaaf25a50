/**
 * The driver registry: loads {@link io.blockkit.api.BlockDriver}s with ServiceLoader (or takes
 * explicit instances), probes formats and stacks format over protocol the way qemu-img does.
 *
 * <p>Probing reads an image's head and tail once and asks every format driver. When nothing
 * claims the image above raw's last-resort score, {@link io.blockkit.registry.KnownFormats}
 * decides whether it is a container of a format that has no installed driver: such an image is
 * refused with {@link io.blockkit.api.error.MissingDriverException} rather than opened as raw.
 */
package io.blockkit.registry;
