package dev.edgekit.core

/** Base of every error the core raises; the message names the model or image and the fix. */
open class EdgeKitException(message: String, cause: Throwable? = null) : Exception(message, cause)

/** An unusable model: corrupt metadata, missing labels, invalid preprocessing parameters. */
class ModelException(message: String, cause: Throwable? = null) : EdgeKitException(message, cause)

/** Pixels that cannot be preprocessed (wrong array size, zero dimensions). */
class ImageException(message: String, cause: Throwable? = null) : EdgeKitException(message, cause)
