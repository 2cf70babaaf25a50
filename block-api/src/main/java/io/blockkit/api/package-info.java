/**
 * The blockkit SPI: {@link io.blockkit.api.BlockDriver} (stateless, found with ServiceLoader) opens
 * {@link io.blockkit.api.BlockDevice}s (stateful, thread-safe open images). Drivers stack like
 * QEMU's nodes: a FORMAT driver (vdi, raw) always sits on a PROTOCOL driver (file, memory), with
 * optional FILTER drivers between.
 *
 * <h2>Writing a driver</h2>
 * <ol>
 *   <li>Implement {@link io.blockkit.api.BlockDriver}: a name, a kind, a pure {@code probe}, and
 *       {@code open}/{@code create} with typed {@link io.blockkit.api.options.OptionSpec}s.
 *   <li>Extend {@link io.blockkit.api.AbstractBlockDevice} for the open image; it does range,
 *       read-only and closed checks so the driver only implements valid requests.
 *       A FILTER that changes one thing and passes the rest on extends
 *       {@link io.blockkit.api.ForwardingBlockDevice}.
 *   <li>List the class in {@code META-INF/services/io.blockkit.api.BlockDriver} and put the jar on
 *       the class path (or in the tool's {@code plugins/} folder).
 *   <li>Extend the conformance kit's {@code BlockDriverConformanceTest} (module block-tests).
 * </ol>
 */
package io.blockkit.api;
