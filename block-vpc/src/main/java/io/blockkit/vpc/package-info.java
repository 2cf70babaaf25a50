/**
 * The {@code vpc} format driver (alias {@code vhd}): Microsoft Virtual Hard Disk images.
 */
package io.blockkit.vpc;
