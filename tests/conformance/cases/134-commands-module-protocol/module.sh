#!/bin/sh
echo "^context=mymod"
echo "=greeting=hello from module"
echo "@items= { \"a\", \"b\" , \"c\" }"
echo "+from_module"
echo "-removed_by_module"
