<?php
// PHP Workerman's hello world, the peer of httpbench's "php" server: one
// worker process (count=1) on Workerman's default event loop, answering
// every request with "Hello, World!". The Workerman source is not part of
// this repository: WORKERMAN_PHP_SRC names a checkout of
// github.com/walkor/workerman (see bench/http/README.md).
//
//   WORKERMAN_PHP_SRC=/path/to/workerman HTTPBENCH_ADDR=127.0.0.1:8080 php start.php start

use Workerman\Worker;

$src = getenv('WORKERMAN_PHP_SRC');
if ($src === false || !is_dir($src . '/src')) {
    fwrite(STDERR, "WORKERMAN_PHP_SRC must name a checkout of github.com/walkor/workerman\n");
    exit(2);
}
spl_autoload_register(function (string $class) use ($src): void {
    if (str_starts_with($class, 'Workerman\\')) {
        $file = $src . '/src/' . str_replace('\\', '/', substr($class, strlen('Workerman\\'))) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});

$addr = getenv('HTTPBENCH_ADDR') ?: '127.0.0.1:8080';
$run = sys_get_temp_dir() . '/httpbench-php-' . str_replace(':', '-', $addr);
Worker::$pidFile = $run . '.pid';
Worker::$logFile = $run . '.log';
Worker::$statusFile = $run . '.status';

$worker = new Worker('http://' . $addr);
$worker->count = 1;
$worker->onMessage = function ($connection, $request) {
    $connection->send('Hello, World!');
};

Worker::runAll();
