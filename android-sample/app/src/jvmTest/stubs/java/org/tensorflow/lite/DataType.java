package org.tensorflow.lite;

/** JVM stand-in. */
public enum DataType { FLOAT32, INT32, UINT8, INT64, STRING, BOOL, INT16, INT8 }
