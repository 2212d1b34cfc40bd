#!/usr/bin/env php
<?php
require_once('./ws.class.php');

class Server extends WebSocketServer
{
    protected function process($user, $message)
    {
        $this->send($user, $message);
    }

    protected function connected($user)
    {
        //Kullanıcılar bağlandığı zaman çalışacak fonksiyon
    }

    protected function closed($user)
    {
        // Kullanıcı bağlantısı sonlandığı zaman çalışacak fonksiyon
    }
}

$echo = new Server("127.0.0.1", $argv[1] ?? "9000");

try {
    $echo->run();
} catch (Exception $e) {
    $echo->stdout($e->getMessage());
}
