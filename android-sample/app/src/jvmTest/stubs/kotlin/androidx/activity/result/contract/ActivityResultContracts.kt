package androidx.activity.result.contract

import android.net.Uri
import androidx.activity.result.PickVisualMediaRequest

/** JVM stand-in (Kotlin in androidx: `ImageOnly` is an object). */
class ActivityResultContracts {
    class RequestPermission : ActivityResultContract<String, Boolean>()

    open class PickVisualMedia : ActivityResultContract<PickVisualMediaRequest, Uri?>() {
        interface VisualMediaType
        object ImageOnly : VisualMediaType
    }
}
