package dev.edgekit.sample

/** Stored pixels as the core takes them: ARGB ints (straight alpha), size, and the EXIF orientation to apply. */
class Pixels(val argb: IntArray, val width: Int, val height: Int, val orientation: Int, val note: String? = null)
