package androidx.activity.result

import androidx.activity.result.contract.ActivityResultContracts

/** JVM stand-in. */
class PickVisualMediaRequest internal constructor() {
    var mediaType: ActivityResultContracts.PickVisualMedia.VisualMediaType? = null
        internal set
}

/** Stand-in of activity-ktx's builder function. */
fun PickVisualMediaRequest(mediaType: ActivityResultContracts.PickVisualMedia.VisualMediaType): PickVisualMediaRequest =
    PickVisualMediaRequest().also { it.mediaType = mediaType }
