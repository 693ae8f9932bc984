// JVM stand-ins of activity-ktx's Kotlin extensions (Kotlin in androidx too, so stubbed in Kotlin).
package androidx.activity

import androidx.lifecycle.ViewModel

/** Stand-in of `by viewModels()`: creation is not exercised on the JVM. */
inline fun <reified VM : ViewModel> ComponentActivity.viewModels(): Lazy<VM> =
    lazy { throw UnsupportedOperationException("stand-in: no ViewModelProvider on the JVM") }

/** Stand-in of `enableEdgeToEdge()`. */
fun ComponentActivity.enableEdgeToEdge() {}
